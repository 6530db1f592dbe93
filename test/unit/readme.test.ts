import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { describeProgram, environmentOf } from '../../src/cli/command-model.js';
import { buildProgram } from '../../src/cli/program.js';
import { EXIT_CODE_TABLE } from '../../src/errors.js';
import { REPO } from '../helpers/cli.js';
import { userVariables } from '../helpers/source-variables.js';

const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
const section = (title: string) => {
  const start = readme.indexOf(`\n### ${title}\n`);
  assert.ok(start >= 0, `README has no "### ${title}" section`);
  const end = readme.indexOf('\n#', start + title.length + 6);
  return readme.slice(start, end < 0 ? undefined : end);
};

test('README "Environment variables" lists exactly the variables the CLI reads', () => {
  const documented = new Set(section('Environment variables').match(/S3DUCT_[A-Z][A-Z_]*/g));
  const read = new Set(userVariables());
  for (const e of environmentOf(describeProgram(buildProgram()))) assert.ok(read.has(e.env), e.env);
  assert.deepEqual([...documented].sort(), [...read].sort());
});

test('README exit code table matches src/errors.ts', () => {
  const rows = [...section('Exit codes').matchAll(/^\| (\d+) \| (.+) \|$/gm)].map((m) => [Number(m[1]), m[2]!.replace(/`/g, '')]);
  assert.deepEqual(rows, EXIT_CODE_TABLE.map(([c, d]) => [c, d]));
});
