/** The docs never send users through `npx conda-gitops`: the name is not published, a stranger could take it. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

it('README and docs/ never run conda-gitops through npx', () => {
  const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((f) => join('docs', f))].filter((f) =>
    f.endsWith('.md'),
  );
  const offenders = files.flatMap((f) =>
    readFileSync(join(ROOT, f), 'utf8')
      .split('\n')
      .flatMap((l, i) =>
        /npx\s+conda-gitops/.test(l) && !/never `npx conda-gitops`|`npx conda-gitops` outside the clone would/.test(l)
          ? [`${f}:${i + 1}`]
          : [],
      ),
  );
  expect(offenders).toEqual([]);
});

it('docs/adopt.md says how the admin gets the command', () => {
  const adopt = readFileSync(join(ROOT, 'docs', 'adopt.md'), 'utf8');
  expect(adopt).toMatch(/## Getting the command/);
  expect(adopt).toMatch(/npm link/);
  expect(adopt).toMatch(/install-tool/);
});
