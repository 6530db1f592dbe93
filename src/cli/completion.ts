import { flagsOf, optionsWithGlobals, type CommandSpec, type OptionSpec, type ProgramSpec } from './command-model.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** Shell completion script for `s3duct completion <shell>`, generated from the definitions. */
export function completionScript(p: ProgramSpec, shell: Shell): string {
  switch (shell) {
    case 'bash':
      return bashScript(p);
    case 'zsh':
      return zshScript(p);
    case 'fish':
      return fishScript(p);
  }
}

const fnName = (p: ProgramSpec) => `_${p.name.replace(/[^A-Za-z0-9_]/g, '_')}`;
const namesOf = (c: CommandSpec) => [c.name, ...c.aliases];

// ---------------------------------------------------------------------------------------------
// bash: words only (bash shows no descriptions). Option values without a fixed set of choices
// fall back to file names through `complete -o default`.

function bashScript(p: ProgramSpec): string {
  const fn = fnName(p);
  const allFlags = (opts: readonly OptionSpec[]) => opts.flatMap(flagsOf).join(' ');
  const choiceCases = (opts: readonly OptionSpec[]) =>
    opts
      .filter((o) => o.choices)
      .map((o) => `      ${flagsOf(o).join('|')}) COMPREPLY=($(compgen -W "${o.choices!.join(' ')}" -- "$cur")); return ;;`)
      .join('\n');
  const valueFlags = (opts: readonly OptionSpec[]) =>
    opts
      .filter((o) => o.valueName && !o.choices)
      .flatMap(flagsOf)
      .join('|');
  const perCommand = p.commands
    .map((c) => {
      const opts = optionsWithGlobals(p, c);
      const values = valueFlags(opts);
      const argWords = c.arguments.flatMap((a) => a.choices ?? []);
      return [
        `    ${namesOf(c).join('|')})`,
        `      case "$prev" in`,
        choiceCases(opts),
        ...(values ? [`      ${values}) return ;;`] : []),
        `      esac`,
        `      words_="${[allFlags(opts), ...argWords].join(' ')}" ;;`,
      ]
        .filter(Boolean)
        .join('\n');
    })
    .join('\n');
  return `# bash completion for ${p.name} (generated: ${p.name} completion bash)
# Load it with:  source <(${p.name} completion bash)
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" cmd="" words_ i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      ${p.commands.flatMap(namesOf).join('|')}) cmd="\${COMP_WORDS[i]}"; break ;;
    esac
  done
  case "$cmd" in
    "")
      case "$prev" in
${choiceCases(p.globalOptions)}
      esac
      words_="${allFlags(p.globalOptions)} ${p.commands.flatMap(namesOf).join(' ')}" ;;
${perCommand}
  esac
  COMPREPLY=($(compgen -W "$words_" -- "$cur"))
}
complete -o default -F ${fn} ${p.name}
`;
}

// ---------------------------------------------------------------------------------------------
// zsh: _arguments specs, with descriptions.

/** Inside a single-quoted _arguments spec: ' closes the quote; [ ] : \ are spec syntax. */
const zshDesc = (s: string) => s.replace(/\\/g, '\\\\').replace(/'/g, `'\\''`).replace(/([[\]:])/g, '\\$1');

function zshOption(o: OptionSpec): string {
  const flags = flagsOf(o);
  const exclusive = flags.length > 1 ? `'(${flags.join(' ')})'{${flags.join(',')}}` : '';
  const value = o.valueName ? `:${zshDesc(o.valueName)}:${o.choices ? `(${o.choices.join(' ')})` : '_files'}` : '';
  const spec = `[${zshDesc(o.description)}]${value}`;
  return exclusive ? `${exclusive}'${spec}'` : `'${flags[0]}${spec}'`;
}

function zshScript(p: ProgramSpec): string {
  const fn = fnName(p);
  const lines = (opts: readonly OptionSpec[], indent: string) => opts.map((o) => `${indent}${zshOption(o)} \\`).join('\n');
  const commandList = p.commands.flatMap((c) => namesOf(c).map((n) => `    '${n}:${zshDesc(c.description)}'`)).join('\n');
  const perCommand = p.commands
    .map((c) => {
      const args = c.arguments.map(
        (a) => `            '${a.required ? '' : ':'}:${zshDesc(a.description || a.name)}:${a.choices ? `(${a.choices.join(' ')})` : '_files'}' \\`,
      );
      return [`        ${namesOf(c).join('|')})`, `          _arguments \\`, lines(optionsWithGlobals(p, c), '            '), ...args, `            && return 0 ;;`].join('\n');
    })
    .join('\n');
  return `#compdef ${p.name}
# zsh completion for ${p.name} (generated: ${p.name} completion zsh)
# Load it with:  source <(${p.name} completion zsh)   or save it as _${p.name} on your $fpath
${fn}() {
  local curcontext="$curcontext" state line
  local -a commands
  commands=(
${commandList}
  )
  _arguments -C \\
${lines(p.globalOptions, '    ')}
    '1:command:->command' \\
    '*::argument:->argument' && return 0
  case $state in
    command) _describe -t commands 'command' commands ;;
    argument)
      case $words[1] in
${perCommand}
      esac ;;
  esac
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${p.name}
fi
`;
}

// ---------------------------------------------------------------------------------------------
// fish: one `complete` line per option and per command.

const fishQuote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function fishOption(prog: string, condition: string, o: OptionSpec): string {
  const parts = [`complete -c ${prog}`, `-n ${fishQuote(condition)}`];
  if (o.short) parts.push(`-s ${o.short.slice(1)}`);
  if (o.long) parts.push(`-l ${o.long.slice(2)}`);
  if (o.choices) parts.push(`-x -a ${fishQuote(o.choices.join(' '))}`);
  else if (o.valueName) parts.push('-r -F');
  parts.push(`-d ${fishQuote(o.description)}`);
  return parts.join(' ');
}

function fishScript(p: ProgramSpec): string {
  const all = p.commands.flatMap(namesOf).join(' ');
  const lines = [
    `# fish completion for ${p.name} (generated: ${p.name} completion fish)`,
    `# Load it with:  ${p.name} completion fish | source   or save it in ~/.config/fish/completions/${p.name}.fish`,
    `complete -c ${p.name} -f`,
    ...p.globalOptions.map((o) => fishOption(p.name, 'true', o)),
    ...p.commands.flatMap((c) =>
      namesOf(c).map((n) => `complete -c ${p.name} -n ${fishQuote(`not __fish_seen_subcommand_from ${all}`)} -a ${n} -d ${fishQuote(c.description)}`),
    ),
    ...p.commands.flatMap((c) => {
      const seen = `__fish_seen_subcommand_from ${namesOf(c).join(' ')}`;
      const choices = c.arguments.flatMap((a) => a.choices ?? []);
      return [
        ...c.options.filter((o) => !p.globalOptions.some((g) => g.long === o.long)).map((o) => fishOption(p.name, seen, o)),
        ...(choices.length ? [`complete -c ${p.name} -n ${fishQuote(seen)} -a ${fishQuote(choices.join(' '))}`] : []),
      ];
    }),
  ];
  return lines.join('\n') + '\n';
}
