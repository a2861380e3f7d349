#!/usr/bin/env node
// The format check `npm test` runs: prettier's own check, then the one rule prettier does not enforce on strings,
// comments and regexes: no line of code over 120 characters (build long regexes from named parts).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const MAX = 120;
const prettier = spawnSync('npx', ['prettier', '--check', '.', '--log-level', 'warn'], { stdio: 'inherit' });
const files = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts', '*.mjs'], {
  encoding: 'utf8',
})
  .stdout.split('\n')
  .filter(Boolean);
const long = files.flatMap((file) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line, i) => (line.length > MAX ? [`${file}:${i + 1}: ${line.length} characters`] : [])),
);
for (const l of long) console.error(l);
if (long.length) console.error(`${long.length} line(s) over ${MAX} characters: shorten them (prettier cannot)`);
process.exit(prettier.status === 0 && long.length === 0 ? 0 : 1);
