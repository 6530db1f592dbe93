import type { Command, Option } from 'commander';

/**
 * A plain description of the commander definitions, read by walking program.commands: the
 * completion scripts and the man page are generated from it, so a command or option added
 * in program.ts appears in them without further edits.
 */
export interface OptionSpec {
  readonly short?: string;
  readonly long?: string;
  readonly description: string;
  /** Name of the value it takes (`<size>` → "size"), absent for a flag. */
  readonly valueName?: string;
  readonly choices?: readonly string[];
  readonly env?: string;
  readonly defaultValue?: string;
}

export interface ArgumentSpec {
  readonly name: string;
  readonly required: boolean;
  readonly description: string;
  readonly choices?: readonly string[];
}

export interface CommandSpec {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly description: string;
  readonly options: readonly OptionSpec[];
  readonly arguments: readonly ArgumentSpec[];
}

export interface ProgramSpec {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly globalOptions: readonly OptionSpec[];
  readonly commands: readonly CommandSpec[];
}

/**
 * Values completion offers for an option that is parsed leniently (`--tier bulk`,
 * `--storage-class deep_archive`): commander's choices() would refuse those spellings.
 */
const suggestions = new WeakMap<Option, readonly string[]>();

export function suggestValues(o: Option, values: readonly string[]): Option {
  suggestions.set(o, values);
  return o;
}

/** commander adds -h/--help itself (it is not in cmd.options). */
const HELP: OptionSpec = { short: '-h', long: '--help', description: 'show help' };

function optionSpec(o: Option): OptionSpec {
  const value = /[<[]([^>\]]+)[>\]]/.exec(o.flags)?.[1];
  const dflt = o.defaultValue;
  const choices = o.argChoices ?? suggestions.get(o);
  return {
    ...(o.short ? { short: o.short } : {}),
    ...(o.long ? { long: o.long } : {}),
    description: o.description,
    ...(value ? { valueName: value.replace(/\.\.\.$/, '') } : {}),
    ...(choices ? { choices: [...choices] } : {}),
    ...(o.envVar ? { env: o.envVar } : {}),
    ...(value && dflt !== undefined && !(Array.isArray(dflt) && dflt.length === 0) ? { defaultValue: String(dflt) } : {}),
  };
}

const visibleOptions = (c: Command) => [...c.options.filter((o) => !o.hidden).map(optionSpec), HELP];

export function describeProgram(program: Command): ProgramSpec {
  return {
    name: program.name(),
    version: program.version() ?? '',
    description: program.description(),
    globalOptions: visibleOptions(program),
    commands: program.commands
      .filter((c) => !(c as unknown as { _hidden?: boolean })._hidden)
      .map((c) => ({
        name: c.name(),
        aliases: c.aliases(),
        description: c.description(),
        options: visibleOptions(c),
        arguments: c.registeredArguments.map((a) => ({
          name: a.name(),
          required: a.required,
          description: a.description,
          ...(a.argChoices ? { choices: [...a.argChoices] } : {}),
        })),
      })),
  };
}

/** A command's options plus the program's (commander accepts those after the command too). */
export function optionsWithGlobals(p: ProgramSpec, c: CommandSpec): OptionSpec[] {
  const own = new Set(c.options.flatMap(flagsOf));
  return [...c.options, ...p.globalOptions.filter((o) => !flagsOf(o).some((f) => own.has(f)))];
}

/** The option's spellings: ["-n", "--name"]. */
export const flagsOf = (o: OptionSpec): string[] => [o.short, o.long].filter((f): f is string => !!f);

/** Every environment variable an option reads, each once, in definition order. */
export function environmentOf(p: ProgramSpec): { env: string; option: string; description: string }[] {
  const seen = new Map<string, { env: string; option: string; description: string }>();
  for (const o of [...p.globalOptions, ...p.commands.flatMap((c) => c.options)])
    if (o.env && !seen.has(o.env)) seen.set(o.env, { env: o.env, option: o.long ?? o.short ?? '', description: o.description });
  return [...seen.values()];
}
