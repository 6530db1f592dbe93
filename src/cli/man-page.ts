import { EXIT_CODE_TABLE } from '../errors.js';
import { environmentOf, flagsOf, type CommandSpec, type OptionSpec, type ProgramSpec } from './command-model.js';

/** Text made safe for roff: backslashes and hyphens escaped, no line starting a request, and
 *  characters beyond ASCII as \[uXXXX] (troff reads its input as Latin-1 otherwise). */
export function roffText(s: string): string {
  return s
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/[^\x00-\x7e]/gu, (c) => `\\[u${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`)
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n');
}

const bold = (s: string) => `\\fB${roffText(s)}\\fR`;
const italic = (s: string) => `\\fI${roffText(s)}\\fR`;

function optionItem(o: OptionSpec): string {
  const head = flagsOf(o).map(bold).join(', ') + (o.valueName ? ` ${italic(o.valueName)}` : '');
  const notes = [
    o.choices ? `one of: ${o.choices.join(', ')}` : '',
    o.defaultValue !== undefined ? `default: ${o.defaultValue}` : '',
    o.env ? `environment: ${o.env}` : '',
  ].filter(Boolean);
  return `.TP\n${head}\n${roffText(o.description)}${notes.length ? ` (${roffText(notes.join('; '))})` : ''}`;
}

function commandSection(p: ProgramSpec, c: CommandSpec): string {
  const args = c.arguments.map((a) => (a.required ? `<${a.name}>` : `[${a.name}]`)).join(' ');
  const aka = c.aliases.length ? `\nAlias: ${c.aliases.map(bold).join(', ')}.` : '';
  return [`.SS "${roffText(`${p.name} ${c.name} [options]${args ? ' ' + args : ''}`)}"`, `${roffText(c.description)}.${aka}`, ...c.options.map(optionItem)].join('\n');
}

/** The man page (roff, man macros) for `s3duct man` and `npm run build:man`. */
export function manPage(p: ProgramSpec): string {
  const env = environmentOf(p);
  return [
    `.TH ${p.name.toUpperCase()} 1 "" "${p.name} ${p.version}" "User Commands"`,
    '.SH NAME',
    `${p.name} \\- ${roffText(p.description)}`,
    '.SH SYNOPSIS',
    `${bold(p.name)} [${italic('global options')}] ${italic('command')} [${italic('options')}]`,
    '.SH DESCRIPTION',
    roffText(p.description) + '.',
    `Run ${bold(`${p.name} <command> --help`)} for the options of one command.`,
    '.SH GLOBAL OPTIONS',
    ...p.globalOptions.map(optionItem),
    '.SH COMMANDS',
    ...p.commands.map((c) => commandSection(p, c)),
    '.SH ENVIRONMENT',
    'Each variable sets the option named; an option given on the command line wins.',
    ...env.map((e) => `.TP\n${bold(e.env)}\n${bold(e.option)}: ${roffText(e.description)}`),
    `.TP\n${bold('S3DUCT_PROFILE')}\nthe profile file (default: $XDG_CONFIG_HOME/s3duct/profile.json, else ~/.config/s3duct/profile.json); --profile wins.`,
    `.TP\n${bold('S3DUCT_REQUEST_TIMEOUT')}\nseconds an S3 request may stall before it is retried (default: 120).`,
    `.TP\n${bold('S3DUCT_STATE_DIR')}\nwhere this machine keeps resume state (default: $XDG_STATE_HOME/s3duct, else ~/.local/state/s3duct).`,
    `.TP\n${bold('S3DUCT_DEBUG')}\nset to 1 to add stack traces to unexpected errors.`,
    `.TP\n${bold('AWS_ACCESS_KEY_ID')}, ${bold('AWS_PROFILE')}, ${bold('AWS_REGION')}, ...\nS3 credentials and region: the standard AWS chain (environment, ~/.aws, SSO, instance roles).`,
    '.SH EXIT STATUS',
    ...EXIT_CODE_TABLE.map(([code, text]) => `.TP\n${bold(String(code))}\n${roffText(text)}`),
    '.SH SEE ALSO',
    `${bold(`${p.name} completion bash|zsh|fish`)} for shell completion; docs/FORMAT.md for the on\\-store format.`,
    '',
  ].join('\n');
}
