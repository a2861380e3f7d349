import { describe, expect, test } from 'vitest';
import { parseSpec } from '../../scripts/core/spec.js';
import { normalizeSpec } from '../../scripts/core/buildid.js';
import { versionSpecChecker } from '../../scripts/core/matchspec.js';
import { parseYamlWithPositions, YamlSyntaxError } from '../../scripts/core/yamlpos.js';
import type { Problem } from '../../scripts/core/errors.js';
import { corpusFiles, corpusPresent, corpusText, CORPUS_DIR } from '../fixtures/repo.js';

const FILE = 'env-specs/demo.yml';
const parse = (text: string, check?: (v: string) => string | undefined) => parseSpec(text, FILE, 'demo', check);
const errors = (ps: Problem[]) => ps.filter((p) => p.severity === 'error').map((p) => `${p.line}: ${p.message}`);
const warnings = (ps: Problem[]) => ps.filter((p) => p.severity === 'warning').map((p) => `${p.line}: ${p.message}`);

describe.skipIf(!corpusPresent)(`every real env file in ${CORPUS_DIR}`, () => {
  const files = corpusFiles();

  test('the corpus is there (113 files at the time of writing)', () => {
    expect(files.length).toBeGreaterThanOrEqual(100);
  });

  test.each(files)('%s parses without errors, every line number points at its entry, and normalises', async (file) => {
    const text = corpusText(file).replace(/^\uFEFF/, '');
    const { spec, problems } = parseSpec(text, `env-specs/${file}`, 'demo', await versionSpecChecker());
    expect(errors(problems)).toEqual([]);
    expect(spec).toBeDefined();
    const lines = text.split(/\r?\n/);
    expect(spec!.dependencies.length + spec!.pip.length).toBeGreaterThan(0);
    // the line of every entry is where the user wrote it: CI annotations land there
    for (const d of spec!.dependencies) expect(lines[d.line - 1], `${file}:${d.line}`).toContain(d.text);
    for (const p of spec!.pip) expect(lines[p.line - 1], `${file}:${p.line}`).toContain(p.text);
    spec!.channels.forEach((c, i) => expect(lines[spec!.channelLines![i]! - 1]).toContain(c));
    for (const p of problems) expect(p.line).toBeGreaterThanOrEqual(1);

    const n = normalizeSpec(spec!);
    expect(n.dependencies).toEqual([...new Set(n.dependencies)].sort());
    expect(n.dependencies.length).toBeLessThanOrEqual(spec!.dependencies.length);
    expect(normalizeSpec(spec!)).toEqual(n);
  });

  test('exports keep their prefix line as a warning, never an error', () => {
    const withPrefix = files.filter((f) => /^prefix:/m.test(corpusText(f)));
    expect(withPrefix.length).toBeGreaterThan(5);
    for (const f of withPrefix) {
      const text = corpusText(f);
      const line = text.split(/\r?\n/).findIndex((l) => l.startsWith('prefix:')) + 1;
      const { spec, problems } = parseSpec(text, f, 'demo');
      expect(spec).toBeDefined();
      expect(warnings(problems)).toContain(
        `${line}: 'prefix:' is ignored: builds go to the installation's builds/ directory`,
      );
    }
  });
});

describe('parseYamlWithPositions', () => {
  test('the plain value is built on demand and matches the tree', () => {
    const text = 'name: demo\ndependencies:\n  - python\n  - pip:\n    - rich\n';
    const parsed = parseYamlWithPositions(text, 'f.yml');
    expect(parsed.value).toEqual({ name: 'demo', dependencies: ['python', { pip: ['rich'] }] });
    expect(parsed.tree).toMatchObject({
      kind: 'map',
      pairs: [{ key: 'name' }, { key: 'dependencies', value: { kind: 'seq' } }],
    });
    const anchored = parseYamlWithPositions('a: &x [1, 2]\nb: *x\n', 'f.yml');
    expect(anchored.value).toEqual({ a: [1, 2], b: [1, 2] });
  });

  test('syntax errors carry the 1-based line', () => {
    expect(() => parseYamlWithPositions('a: 1\nb: [\n', 'f.yml')).toThrow(YamlSyntaxError);
    try {
      parseYamlWithPositions('a: 1\nb: 2\na: 3\n', 'f.yml');
    } catch (e) {
      expect((e as YamlSyntaxError).line).toBe(3);
    }
    expect.assertions(2);
  });
});

describe('parseSpec: what people write', () => {
  test('a spec in export shape: name, channels, deps with lines, a pip list, variables', () => {
    const { spec, problems } = parse(
      [
        'name: demo',
        'channels:',
        '  - conda-forge',
        '  - mpc',
        'dependencies:',
        '  - python=3.11',
        '  - numpy >=1.26',
        '  - mpc::ipums_utils=1.2',
        '  - pip',
        '  - pip:',
        '      - requests==2.31.0',
        '      - git+https://github.com/ipums/tool.git@v1#egg=tool',
        'variables:',
        '  SPARK_HOME: /opt/spark',
        '',
      ].join('\n'),
    );
    expect(problems).toEqual([]);
    expect(spec).toMatchObject({
      file: FILE,
      name: 'demo',
      channels: ['conda-forge', 'mpc'],
      channelLines: [3, 4],
      pipLine: 10,
      variables: { SPARK_HOME: '/opt/spark' },
    });
    expect(spec!.dependencies.map((d) => [d.line, d.spec])).toEqual([
      [6, { name: 'python', version: '3.11.*' }],
      [7, { name: 'numpy', version: '>=1.26' }],
      [8, { channel: 'mpc', name: 'ipums_utils', version: '1.2.*' }],
      [9, { name: 'pip' }],
    ]);
    expect(spec!.pip.map((p) => [p.line, p.kind, p.name])).toEqual([
      [11, 'pinned', 'requests'],
      [12, 'git', 'tool'],
    ]);
  });

  test('CRLF line endings, lists at column 0 and no final newline give the same spec and lines', () => {
    const lf = 'name: demo\ndependencies:\n- python=3.10\n- pip\n- pip:\n  - rich==13.0.0';
    const a = parse(lf);
    const b = parse(lf.replace(/\n/g, '\r\n'));
    expect(a.problems).toEqual([]);
    expect(b.spec).toEqual(a.spec);
    expect(a.spec!.dependencies.map((d) => d.line)).toEqual([3, 4]);
    expect(a.spec!.pip[0]!.line).toBe(6);
  });

  test('a different name inside is a warning: the env is called after its file', () => {
    const { spec, problems } = parse('name: other\ndependencies:\n  - python\n');
    expect(spec!.name).toBe('demo');
    expect(warnings(problems)).toEqual(["1: name 'other' differs from the file name; the env is called 'demo'"]);
  });

  test('unknown top-level keys are warnings, like conda; top-level pip: is an error (conda would drop it)', () => {
    const { problems } = parse('name: demo\nplatforms:\n  - linux-64\ndependencies:\n  - python\npip:\n  - requests\n');
    expect(warnings(problems)).toEqual(["2: unknown key 'platforms' is ignored by conda"]);
    expect(errors(problems)).toEqual([
      "6: top-level 'pip:' is not read by conda (the packages would be silently dropped): " +
        "move it under dependencies as '- pip:'",
    ]);
  });

  const SEL_ENTRIES =
    "mamba's sel(linux) entries are kept, other platforms' skipped; '# [osx]' is a comment, as conda reads it";
  test(SEL_ENTRIES, () => {
    const { spec } = parse(
      'name: demo\ndependencies:\n  - python\n' +
        '  - sel(linux): gcc_linux-64\n  - sel(win): pywin32\n  - clang  # [osx]\n',
    );
    expect(spec!.dependencies.map((d) => [d.line, d.text])).toEqual([
      [3, 'python'],
      [4, 'gcc_linux-64'],
      [6, 'clang'],
    ]);
  });

  test('a pip: section without pip in the conda deps is a warning at the pip: line', () => {
    const { spec, problems } = parse('name: demo\ndependencies:\n  - python\n  - pip:\n    - rich\n');
    expect(spec).toBeDefined();
    expect(warnings(problems)).toEqual([
      "4: a 'pip:' section without 'pip' in the conda dependencies (conda >= 4.6.9 adds it; the build, for older)",
    ]);
  });

  test('pip-style extras on a conda dependency (tiled[all]) are accepted with a warning: conda ignores them', () => {
    const { spec, problems } = parse('name: demo\ndependencies:\n  - python\n  - tiled[all]\n');
    expect(errors(problems)).toEqual([]);
    expect(spec!.dependencies.map((d) => d.spec.name)).toEqual(['python', 'tiled']);
    expect(warnings(problems)).toEqual([
      "4: conda ignores '[all]' in 'tiled[all]' (only key=value fields count in a conda spec); " +
        "for pip extras use the 'pip:' section",
    ]);
  });

  test('an item indented deeper than the others is an error at its own line; a wrapped pip option is not', () => {
    const bad = parse('name: demo\ndependencies:\n  - python=3.11\n   - numpy\n  - pandas\n');
    expect(errors(bad.problems)).toEqual([
      "4: this '-' item is indented deeper than the item of line 3 and was read as part of it: " +
        'start each item at the same indentation',
    ]);
    const badPip = parse('name: demo\ndependencies:\n  - pip\n  - pip:\n    - rich\n     - httpx\n');
    expect(errors(badPip.problems)).toHaveLength(1);
    expect(errors(badPip.problems)[0]).toMatch(/^6: this '-' item/);
    const wrapped = parse(
      'name: demo\ndependencies:\n  - pip\n  - pip:\n' +
        '    - --extra-index-url\n      https://example.org/simple\n    - numpy\n      >=1.2\n',
    );
    expect(errors(wrapped.problems)).toEqual([]);
    expect(wrapped.spec!.pip.map((p) => [p.kind, p.text])).toEqual([
      ['option', '--extra-index-url https://example.org/simple'],
      ['range', 'numpy >=1.2'],
    ]);
  });

  test('variables: a mapping of names to plain values', () => {
    expect(parse('name: demo\ndependencies: [python]\nvariables:\n  A: 1\n  B_2: x\n').spec!.variables).toEqual({
      A: '1',
      B_2: 'x',
    });
    expect(errors(parse('name: demo\ndependencies: [python]\nvariables:\n  A: 1\n  2bad: x\n').problems)).toEqual([
      "5: invalid variable name '2bad'",
    ]);
    expect(errors(parse('name: demo\ndependencies: [python]\nvariables:\n  - A\n').problems)).toEqual([
      "3: 'variables' must be a mapping of NAME: value",
    ]);
  });

  test('version specs are checked with conda semantics (rattler) when a checker is given', async () => {
    const check = await versionSpecChecker();
    expect(parse('name: demo\ndependencies:\n  - python >=3.8,<4\n  - numpy 1.2.*\n', check).problems).toEqual([]);
    const { problems } = parse('name: demo\ndependencies:\n  - python\n  - numpy >=1.2,,<<2\n', check);
    expect(errors(problems)).toHaveLength(1);
    expect(errors(problems)[0]).toMatch(/^4: invalid version spec '>=1\.2,,<<2'/);
  });

  test.each([
    ['an empty file', '', '1: empty environment file (conda: EnvironmentFileEmpty)'],
    ['only a comment', '# nothing\n', '1: empty environment file (conda: EnvironmentFileEmpty)'],
    [
      'a list at the top',
      '- python\n',
      '1: an environment file must be a mapping with name, channels and dependencies',
    ],
    ['no dependencies key', 'name: demo\nchannels: [conda-forge]\n', "1: no 'dependencies' list"],
    ['dependencies not a list', 'name: demo\ndependencies: python\n', "2: 'dependencies' must be a list"],
    [
      'channels not a list',
      'name: demo\nchannels: conda-forge\ndependencies: [python]\n',
      "2: 'channels' must be a list",
    ],
    [
      'a duplicate top-level key',
      'name: demo\ndependencies: [python]\ndependencies: [numpy]\n',
      "3: invalid YAML: duplicated key 'dependencies' (first at line 2): keep one",
    ],
    [
      'a duplicate nested key',
      'name: demo\ndependencies: [python]\nvariables:\n  A: 1\n  A: 2\n',
      "5: invalid YAML: duplicated key 'A' (first at line 4): keep one",
    ],
    [
      'two documents',
      'name: demo\ndependencies: [python]\n---\nname: b\n',
      '1: invalid YAML: more than one YAML document in the file',
    ],
    [
      'a tab in the indentation',
      'name: demo\ndependencies:\n\t- python\n',
      '3: invalid YAML: tab characters must not be used in indentation',
    ],
    [
      'a duplicate key in a file with anchors',
      'name: &n demo\ndependencies: [python]\nname: other\n',
      '3: invalid YAML: duplicated mapping key',
    ],
    [
      'an unknown YAML tag',
      'name: demo\ndependencies:\n  - !!binary aGVsbG8=\n',
      '3: invalid YAML: unknown scalar tag !<tag:yaml.org,2002:binary>',
    ],
    [
      'an alias as a dependency',
      'name: demo\ndependencies:\n  - &p python\n  - *p\n',
      '4: a dependency must be a package spec string or a "pip:" list',
    ],
    [
      'a second pip section',
      'name: demo\ndependencies:\n  - pip\n  - pip: [a]\n  - pip: [b]\n',
      "5: a second '- pip:' section",
    ],
    [
      'an unknown dependency section',
      'name: demo\ndependencies:\n  - python\n  - conda:\n    - numpy\n',
      "4: unknown dependency section 'conda:' (only 'pip:' is allowed)",
    ],
    ['a bare version number', 'name: demo\ndependencies:\n  - python\n  - 3.11\n', "4: '3.11' is not a package spec"],
    [
      'shell metacharacters in a name',
      'name: demo\ndependencies:\n  - python\n  - x;rm -rf\n',
      "4: invalid package spec: invalid package name 'x;rm' in 'x;rm -rf'",
    ],
    [
      'a path as a package',
      'name: demo\ndependencies:\n  - ../x\n',
      "3: invalid package spec: invalid package name '../x' in '../x'",
    ],
    [
      'pip with a conda-style pin',
      'name: demo\ndependencies:\n  - pip\n  - pip:\n    - requests=2.0\n',
      "5: 'requests=2.0' is not a valid pip requirement (pip uses '==' for versions)",
    ],
  ])('rejects %s with the line', (_what, text, expected) => {
    const { spec, problems } = parse(text);
    expect(spec).toBeUndefined();
    expect(errors(problems)).toEqual([expected]);
  });
});
