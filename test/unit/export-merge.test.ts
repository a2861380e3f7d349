import { describe, expect, it } from 'vitest';
import { mergeExport } from '../../scripts/core/export-merge.js';
import { matchesPep440 } from '../../scripts/core/pep440.js';
import { parseSpec } from '../../scripts/core/spec.js';

const FILE = 'env-specs/census.yml';

// what the env owner wrote
const handWritten = [
  '# census: the IPUMS census tools',
  'name: census',
  'channels:',
  '  - conda-forge',
  'dependencies:',
  '  - python=3.11  # the supported Python',
  '  - numpy>=1.20',
  "  - 'pandas>=2,<2.1'  # pandas 2.1 breaks the readers",
  '  - conda-forge::scipy',
  '  - tabulate',
  '  - pip',
  '  - pip:',
  '      - requests>=2,<3',
  '      - attrs==22.1.0',
  '      - oldtool',
  '      - -r requirements-extra.txt',
  '',
].join('\n');

// what `conda env export --no-builds` (after the fix-ups) says is installed
const exported = [
  'name: census',
  'channels:',
  '  - conda-forge',
  '  - defaults',
  'dependencies:',
  '  - numpy=1.26.4',
  '  - pandas=2.2.1',
  '  - pip=24.0',
  '  - python=3.11.8',
  '  - scipy=1.12.0',
  '  - zlib=1.2.13',
  '  - pip:',
  '      - attrs==23.2.0',
  '      - requests==2.31.0',
  '      - urllib3==2.2.1',
  '',
].join('\n');

describe('export keeps hand-written pins the env still satisfies', () => {
  it('keeps satisfied lines as written, rewrites broken ones exactly, adds new and drops gone packages', async () => {
    const r = await mergeExport(handWritten, exported, FILE, 'census');
    expect(r.problems).toEqual([]);
    expect(r.text).toBe(
      [
        '# census: the IPUMS census tools',
        'name: census',
        'channels:',
        '  - conda-forge',
        'dependencies:',
        '  - python=3.11  # the supported Python',
        '  - numpy>=1.20',
        "  - 'pandas=2.2.1'  # pandas 2.1 breaks the readers",
        '  - conda-forge::scipy',
        '  - pip',
        '  - zlib=1.2.13',
        '  - pip:',
        '      - requests>=2,<3',
        '      - attrs==23.2.0',
        '      - -r requirements-extra.txt',
        '      - urllib3==2.2.1',
        '',
      ].join('\n'),
    );
    expect(r.kept).toEqual(['python=3.11', 'numpy>=1.20', 'conda-forge::scipy', 'pip', 'requests>=2,<3']);
    expect(r.rewritten).toEqual([
      { line: 8, before: 'pandas>=2,<2.1', after: 'pandas=2.2.1', installed: '2.2.1' },
      { line: 14, before: 'attrs==22.1.0', after: 'attrs==23.2.0', installed: '23.2.0' },
    ]);
    expect(r.dropped).toEqual([
      { line: 10, text: 'tabulate' },
      { line: 15, text: 'oldtool' },
    ]);
    expect(r.added).toEqual(['zlib=1.2.13', 'urllib3==2.2.1']);
    // the result is a valid spec
    expect(parseSpec(r.text, FILE, 'census').problems.filter((p) => p.severity === 'error')).toEqual([]);
  });

  it('leaves a spec the env still matches unchanged', async () => {
    const spec = ['name: x', 'dependencies:', '- python=3.11.8', '- zlib', ''].join('\n');
    const exp = ['name: x', 'dependencies:', '- python=3.11.8', '- zlib=1.2.13', ''].join('\n');
    const r = await mergeExport(spec, exp, 'env-specs/x.yml', 'x');
    expect(r.text).toBe(spec);
    expect([r.rewritten, r.added, r.dropped]).toEqual([[], [], []]);
  });

  it('keeps the channel of a rewritten line and CRLF line endings', async () => {
    const spec = 'name: x\r\ndependencies:\r\n  - conda-forge::numpy<1.20\r\n';
    const exp = 'name: x\ndependencies:\n  - numpy=1.26.4\n';
    const r = await mergeExport(spec, exp, 'env-specs/x.yml', 'x');
    expect(r.text).toBe('name: x\r\ndependencies:\r\n  - conda-forge::numpy=1.26.4\r\n');
  });

  it('adds a pip section when the spec had none', async () => {
    const spec = ['name: x', 'dependencies:', '  - python', '  - pip', 'variables:', '  A: b', ''].join('\n');
    const exp = ['name: x', 'dependencies:', '- pip=24.0', '- python=3.12.1', '- pip:', '  - six==1.16.0', ''].join(
      '\n',
    );
    const r = await mergeExport(spec, exp, 'env-specs/x.yml', 'x');
    expect(r.text).toBe(
      [
        'name: x',
        'dependencies:',
        '  - python',
        '  - pip',
        '  - pip:',
        '      - six==1.16.0',
        'variables:',
        '  A: b',
        '',
      ].join('\n'),
    );
    expect(r.added).toEqual(['six==1.16.0']);
  });

  it('writes the git source a registry pip entry was installed from, keeps a branch git entry', async () => {
    const spec = [
      'name: x',
      'dependencies:',
      '  - pip',
      '  - pip:',
      '    - gitpkg>=0.1',
      '    - git+https://h/o/tool.git@main#egg=tool',
      '    - git+https://h/o/pinned.git@' + 'a'.repeat(40) + '#egg=pinned',
      '',
    ].join('\n');
    const exp = [
      'name: x',
      'dependencies:',
      '  - pip=24.0',
      '  - pip:',
      '    - git+https://h/o/gitpkg.git@' + 'b'.repeat(40) + '#egg=gitpkg',
      '    - git+https://h/o/tool.git@' + 'c'.repeat(40) + '#egg=tool',
      '    - git+https://h/o/pinned.git@' + 'd'.repeat(40) + '#egg=pinned',
      '',
    ].join('\n');
    const r = await mergeExport(spec, exp, 'env-specs/x.yml', 'x');
    expect(r.text.split('\n').slice(4, 7)).toEqual([
      '    - git+https://h/o/gitpkg.git@' + 'b'.repeat(40) + '#egg=gitpkg',
      '    - git+https://h/o/tool.git@main#egg=tool',
      '    - git+https://h/o/pinned.git@' + 'd'.repeat(40) + '#egg=pinned',
    ]);
    expect(r.rewritten.map((x) => x.line)).toEqual([5, 7]);
  });

  it('gives the problems of a spec that does not parse and writes nothing new', async () => {
    const r = await mergeExport('name: x\ndependencies:\n  - numpy==>1\n', exported, 'env-specs/x.yml', 'x');
    expect(r.problems.map((p) => [p.file, p.line])).toEqual([['env-specs/x.yml', 3]]);
  });
});

describe('PEP 440 specifiers', () => {
  it.each([
    ['>=2,<3', '2.31.0', true],
    ['>=2,<3', '3.0', false],
    ['==2.31.*', '2.31.0', true],
    ['==2.31.*', '2.32.0', false],
    ['==1.0', '1.0.0', true],
    ['!=1.0', '1.0.0', false],
    ['~=1.4.2', '1.4.9', true],
    ['~=1.4.2', '1.5.0', false],
    ['~=1.4', '1.9', true],
    // PEP 440's exclusive comparisons: >V does not admit a post-release of V, <V no pre-release of V
    ['>1.0', '1.0.post1', false],
    ['>1.0', '1.1.post1', true],
    ['<2', '2.0rc1', false],
    ['<2', '2.0.dev1', false],
    ['<2', '1.9rc1', true],
    // an installed pre-release is judged like any version (as pip check does)
    ['>=2', '2.1.0rc1', true],
    ['>=1.0', '1.0rc1', false],
    ['>=1.0.dev1', '1.0a1', true],
    ['==1!2.0', '2.0', false],
    ['==2.0', '2.0+local.7', true],
    // a local label in the specifier is compared (torch==2.1.0+cu118 is not the +cpu build)
    ['==2.1.0+cu118', '2.1.0+cpu', false],
    ['==2.1.0+cu118', '2.1.0+CU118', true],
    ['!=2.1.0+cu118', '2.1.0+cpu', true],
    ['===2.0+x', '2.0+x', true],
  ])('%s on %s is %s', (spec, version, expected) => {
    expect(matchesPep440(spec, version)).toBe(expected);
  });

  it('cannot say for what is not PEP 440', () => {
    expect(matchesPep440('>=2', 'not a version')).toBeUndefined();
    expect(matchesPep440('>=', '1.0')).toBeUndefined();
    expect(matchesPep440('', '1.0')).toBeUndefined();
    expect(matchesPep440('>=2,', '2.1')).toBeUndefined();
    expect(matchesPep440('~=1', '1.0')).toBeUndefined();
  });
});
