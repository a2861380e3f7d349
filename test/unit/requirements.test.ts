import { describe, expect, test } from 'vitest';
import { checkRequirements, requirementsTarget } from '../../scripts/core/requirements.js';
import { parseSpec } from '../../scripts/core/spec.js';

const allow = { channels: ['conda-forge'], pipGitHosts: ['github.com'], pipIndexes: [] };
const spec = (pip: string[]) =>
  parseSpec(
    [
      'name: a',
      'channels:',
      '  - conda-forge',
      'dependencies:',
      '  - pip',
      '  - pip:',
      ...pip.map((p) => `    - ${p}`),
    ].join('\n'),
    'env-specs/a.yml',
    'a',
  ).spec!;
const files = (entries: Record<string, string>) =>
  new Map(Object.entries(entries).map(([k, v]) => [k, new TextEncoder().encode(v)]));

describe('requirements files', () => {
  test('the target of -r and --requirement=', () => {
    expect(requirementsTarget({ text: '-r reqs.txt' })).toBe('reqs.txt');
    expect(requirementsTarget({ text: '--requirement=./reqs.txt' })).toBe('./reqs.txt');
  });

  test('nested files are read and hashed; each bad line is named with its file and line at the -r line', () => {
    const r = checkRequirements(
      spec(['-r reqs.txt']),
      files({
        'reqs.txt': 'six\n# a comment\n-r more.txt\n',
        'more.txt': 'tabulate\n--extra-index-url https://x.example\n',
      }),
      allow,
    );
    expect(Object.keys(r.digests).sort()).toEqual(['more.txt', 'reqs.txt']);
    expect(r.problems).toEqual([
      expect.objectContaining({
        file: 'env-specs/a.yml',
        line: 7,
        message: expect.stringMatching(
          /^pip line '--extra-index-url https:\/\/x\.example' in env-specs\/more\.txt:2: /,
        ),
      }),
    ]);
  });

  test('different bytes, different digest; a loop is read once', () => {
    const a = checkRequirements(spec(['-r r.txt']), files({ 'r.txt': 'six==1\n-r r.txt\n' }), allow);
    const b = checkRequirements(spec(['-r r.txt']), files({ 'r.txt': 'six==2\n-r r.txt\n' }), allow);
    expect(a.problems).toEqual([]);
    expect(a.digests['r.txt']).not.toBe(b.digests['r.txt']);
  });
});
