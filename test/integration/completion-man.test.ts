import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { Command } from 'commander';
import { describeProgram, flagsOf, type ProgramSpec } from '../../src/cli/command-model.js';
import { completionScript, SHELLS } from '../../src/cli/completion.js';
import { manPage, roffText } from '../../src/cli/man-page.js';
import { buildProgram } from '../../src/cli/program.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { userVariables } from '../helpers/source-variables.js';

const spec = describeProgram(buildProgram());
const dir = tempDir('completion');

/** Runs a shell; a missing shell fails the test with the way to install it (never a skip). */
function shell(cmd: string, args: string[], input?: string) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') assert.fail(`${cmd} is not installed: run scripts/setup.sh (apt-get install -y zsh fish)`);
  return r;
}

/** Every name a user can type: commands, aliases, and each command's and the program's flags. */
function everyWord(p: ProgramSpec): string[] {
  return [...p.commands.flatMap((c) => [c.name, ...c.aliases, ...c.options.flatMap(flagsOf)]), ...p.globalOptions.flatMap(flagsOf)];
}

describe('shell completion', () => {
  after(() => dir.cleanup());
  const scripts: Record<string, string> = {};

  for (const sh of SHELLS) {
    test(`${sh}: mentions every command, alias and option, and parses`, async () => {
      const r = await runCli(['completion', sh]);
      assert.equal(r.code, 0, r.stderr);
      const text = r.stdout.toString();
      scripts[sh] = path.join(dir.dir, `s3duct.${sh}`);
      writeFileSync(scripts[sh]!, text);
      for (const w of everyWord(spec)) {
        const bare = sh === 'fish' ? w.replace(/^--?/, '') : w; // fish spells -l name / -s n
        assert.ok(text.includes(bare), `${sh} completion lacks ${w}`);
      }
      for (const c of ['put', 'get', 'verify', 'delete', 'rm', 'completion', 'man']) assert.ok(text.includes(c));
      const check = shell(sh, ['-n', scripts[sh]!]);
      assert.equal(check.status, 0, `${sh} -n: ${check.stderr}`);
    });
  }

  test('bash completes commands, options and choices', () => {
    const complete = (words: string[]) => {
      const quoted = words.map((w) => `'${w}'`).join(' ');
      const r = shell('bash', ['-c', `source '${scripts.bash}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _s3duct; echo "\${COMPREPLY[*]}"`]);
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim();
    };
    assert.equal(complete(['s3duct', 've']), 'verify');
    assert.equal(complete(['s3duct', 'verify', '--qu']), '--quick --quiet');
    assert.equal(complete(['s3duct', 'rm', '--dry']), '--dry-run');
    assert.equal(complete(['s3duct', 'put', '--summary', '']), 'text json none');
    assert.equal(complete(['s3duct', 'completion', 'z']), 'zsh');
    // Parsed case-insensitively (so no commander choices), yet completed from their lists.
    assert.equal(complete(['s3duct', 'put', '--storage-class', 'DE']), 'DEEP_ARCHIVE');
    assert.equal(complete(['s3duct', 'restore', '--tier', '']), 'Bulk Standard Expedited');
  });

  test('fish completes options with descriptions', () => {
    const r = shell('fish', ['-c', `source '${scripts.fish}'; complete -C 's3duct delete --dr'; complete -C 's3duct completion '; complete -C 's3duct init --storage-class GLACIER'`]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^--dry-run\tprint what would be deleted/m);
    assert.deepEqual(r.stdout.split('\n').filter((l) => /^(bash|zsh|fish)$/.test(l)).sort(), ['bash', 'fish', 'zsh']);
    assert.deepEqual(r.stdout.split('\n').filter((l) => l.startsWith('GLACIER')).map((l) => l.split('\t')[0]).sort(), ['GLACIER', 'GLACIER_IR']);
  });

  test('a command added to the program appears in every script and the man page without other edits', () => {
    const program = buildProgram();
    program.addCommand(new Command('frobnicate').description('new thing').option('--widget-count <n>', 'how many widgets'));
    const p = describeProgram(program);
    for (const sh of SHELLS) {
      const text = completionScript(p, sh);
      assert.ok(text.includes('frobnicate') && text.includes('widget-count'), sh);
    }
    assert.ok(manPage(p).includes(roffText('--widget-count')));
  });
});

describe('man page', () => {
  test('renders without groff warnings and documents every option, variable and exit code', async () => {
    const r = await runCli(['man']);
    assert.equal(r.code, 0, r.stderr);
    const roff = r.stdout.toString();
    const g = shell('groff', ['-man', '-Tutf8', '-ww', '-z'], roff);
    assert.equal(g.status, 0);
    assert.equal(g.stderr, '', `groff warnings: ${g.stderr}`);
    for (const w of everyWord(spec)) assert.ok(roff.includes(roffText(w)), `man page lacks ${w}`);
    const environment = roff.slice(roff.indexOf('.SH ENVIRONMENT'), roff.indexOf('.SH EXIT STATUS'));
    for (const v of userVariables()) assert.ok(environment.includes(roffText(v)), `man page ENVIRONMENT lacks ${v}`);
    assert.match(roff, /\.SH EXIT STATUS[\s\S]*\\fB8\\fR/);
  });
});
