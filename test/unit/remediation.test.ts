import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import {
  needsFix,
  remediate,
  requestedVersion,
  namesToLookUp,
  type ChannelFacts,
  type ChannelPackage,
} from '../../scripts/core/remediation.js';
import { parseSpec } from '../../scripts/core/spec.js';
import { normalizePipName } from '../../scripts/core/pip.js';

const FILE = 'env-specs/x.yml';
const facts = (entries: Array<[string, ChannelPackage | null]>): ChannelFacts =>
  new Map(entries.map(([k, v]) => [normalizePipName(k), v]));
const pkg = (name: string, versions: string[], noarch = false): ChannelPackage => ({ name, versions, noarch });

describe('pip-duplicate: a package both in conda deps and pip is dropped from pip', () => {
  const text = [
    'name: x',
    'channels:',
    '  - conda-forge',
    'dependencies:',
    '  - python=3.6',
    '  - numpy=1.11',
    '  - PyYAML=3.12',
    '  - pip',
    '  - pip:',
    '    - numpy==1.11.3   # came along with the export',
    '    - pyyaml==3.12',
    '    - requests==2.18.4',
    '',
  ].join('\n');

  it('drops exactly the duplicated pip lines and says why', async () => {
    const r = await remediate(text, FILE, 'x', new Map());
    expect(r.applied.map((a) => [a.rule, a.line, a.package])).toEqual([
      ['pip-duplicate', 10, 'numpy'],
      ['pip-duplicate', 11, 'pyyaml'],
    ]);
    expect(r.text).toBe(
      text.replace('    - numpy==1.11.3   # came along with the export\n', '').replace('    - pyyaml==3.12\n', ''),
    );
    expect(r.diff).toContain('-    - numpy==1.11.3   # came along with the export');
    expect(needsFix(r)).toBe(true);
  });

  it('removes an emptied pip: item (conda would choke on pip: null)', async () => {
    const t = 'name: x\ndependencies:\n  - numpy\n  - pip\n  - pip:\n    - numpy\n';
    const r = await remediate(t, FILE, 'x', new Map());
    expect(r.text).toBe('name: x\ndependencies:\n  - numpy\n  - pip\n');
    expect(parseSpec(r.text, FILE, 'x').spec!.pip).toEqual([]);
  });

  it('leaves git and URL entries of the same name alone (their source is the point)', async () => {
    const t = 'name: x\ndependencies:\n  - foo\n  - pip\n  - pip:\n    - git+https://h/foo.git@v1#egg=foo\n';
    const r = await remediate(t, FILE, 'x', new Map());
    expect(r.changed).toBe(false);
  });
});

describe('pip-to-conda: a pip entry the channel has as a noarch conda package moves to the conda deps', () => {
  const text = [
    'name: x',
    'channels:',
    '  - mpc',
    'dependencies:',
    '  - python=3.6',
    '  - pip',
    '  - pip:',
    '    - ipums-metadata==2.1.0',
    '    - tabulate>=0.8,<0.9',
    '    - requests==2.18.4',
    '',
  ].join('\n');
  const f = facts([
    ['ipums_metadata', pkg('ipums_metadata', ['2.0.0', '2.1.0'], true)],
    ['tabulate', pkg('tabulate', ['0.8.2', '0.9.0'], true)],
    ['requests', pkg('requests', ['2.18.4'], false)], // not noarch on the channel: stays under pip
  ]);

  it('inserts conda specs before the pip: item with the channel spelling, in export style', async () => {
    const r = await remediate(text, FILE, 'x', f);
    expect(r.text).toBe(
      [
        'name: x',
        'channels:',
        '  - mpc',
        'dependencies:',
        '  - python=3.6',
        '  - pip',
        '  - ipums_metadata=2.1.0',
        '  - tabulate>=0.8,<0.9',
        '  - pip:',
        '    - requests==2.18.4',
        '',
      ].join('\n'),
    );
    expect(r.applied.map((a) => a.rule)).toEqual(['pip-to-conda', 'pip-to-conda']);
    const spec = parseSpec(r.text, FILE, 'x').spec!;
    expect(spec.dependencies.map((d) => d.spec.name)).toContain('ipums_metadata');
  });

  it('a moved pin the channel does not have becomes a version-gone finding, never a guess', async () => {
    const gone = facts([['ipums_metadata', pkg('ipums_metadata', ['2.2.0', '3.0.0'], true)]]);
    const r = await remediate(text, FILE, 'x', gone);
    expect(r.text).toContain('  - ipums_metadata=2.1.0\n');
    expect(r.findings.find((x) => x.kind === 'version-gone')).toMatchObject({
      package: 'ipums_metadata',
      available: ['2.2.0', '3.0.0'],
      nearest: '2.2.0',
    });
    const accepted = await remediate(text, FILE, 'x', gone, { acceptNearest: true });
    expect(accepted.text).toContain('  - ipums_metadata=2.2.0\n');
    expect(accepted.text).not.toContain('2.1.0');
  });
});

describe('version-gone: list the versions the channel has and name the nearest', () => {
  const text =
    'name: x\r\nchannels:\r\n  - mpc\r\ndependencies:\r\n  - python=3.6\r\n' +
    '  - mpc::ipums_utils=1.2.0  # pinned by the census team\r\n  - "hlink==2.0.1"\r\n';
  const f = facts([
    ['python', pkg('python', ['3.6.15', '3.11.5'])],
    ['ipums_utils', pkg('ipums_utils', ['1.2.5', '1.3.0', '1.10.0'], true)],
    ['hlink', pkg('hlink', ['2.0.0', '2.1.0', '3.0.0'])],
  ]);

  it('without --accept-nearest writes nothing and reports available + nearest', async () => {
    const r = await remediate(text, FILE, 'x', f);
    expect(r.changed).toBe(false);
    expect(r.text).toBe(text);
    const gone = r.findings.filter((x) => x.kind === 'version-gone');
    expect(gone.map((g) => [g.package, g.line, g.available, g.nearest])).toEqual([
      ['ipums_utils', 6, ['1.2.5', '1.3.0', '1.10.0'], '1.2.5'],
      ['hlink', 7, ['2.0.0', '2.1.0', '3.0.0'], '2.0.0'], // 2.0.x shares more with 2.0.1 than 2.1.0
    ]);
    expect(gone[0]!.message).toContain('fix --accept-nearest');
    expect(needsFix(r)).toBe(true);
  });

  it('with --accept-nearest writes it, keeping channel, operator, quotes, comment and CRLF', async () => {
    const r = await remediate(text, FILE, 'x', f, { acceptNearest: true });
    expect(r.text).toBe(
      text.replace('ipums_utils=1.2.0  #', 'ipums_utils=1.2.5  #').replace('"hlink==2.0.1"', '"hlink==2.0.0"'),
    );
    expect(r.applied.map((a) => a.after)).toEqual(['mpc::ipums_utils=1.2.5', 'hlink==2.0.0']);
    expect(r.diff).toContain('+  - mpc::ipums_utils=1.2.5  # pinned by the census team');
  });

  it('a package absent from every channel is reported, not rewritten', async () => {
    const r = await remediate('name: x\ndependencies:\n  - nosuch=1.0\n', FILE, 'x', facts([['nosuch', null]]), {
      acceptNearest: true,
    });
    expect(r.changed).toBe(false);
    expect(r.findings).toMatchObject([{ kind: 'missing-package', package: 'nosuch', line: 3 }]);
    expect(needsFix(r)).toBe(false);
  });

  it('a version the channel has needs nothing', async () => {
    const r = await remediate('name: x\ndependencies:\n  - python=3.6\n', FILE, 'x', f, { acceptNearest: true });
    expect(r.changed).toBe(false);
    expect(r.findings).toEqual([]);
  });
});

describe('legacy noarch', () => {
  it('is handled at build time: noted, never rewritten', async () => {
    const t = 'name: x\ndependencies:\n  - ipums_utils=1.3.0\n';
    const r = await remediate(t, FILE, 'x', facts([['ipums_utils', pkg('ipums_utils', ['1.3.0'], true)]]), {
      legacyNoarch: ['ipums_utils'],
    });
    expect(r.changed).toBe(false);
    expect(r.findings).toMatchObject([{ kind: 'legacy-noarch', package: 'ipums_utils' }]);
    expect(needsFix(r)).toBe(false);
  });
});

describe('the seed account case: all rules on one 4.3-era export', () => {
  const text = [
    'name: census',
    'channels:',
    '- mpc',
    '- defaults',
    'dependencies:',
    '- python=3.6.2',
    '- numpy=1.13.1',
    '- mpc::ipums_utils=0.9.1',
    '- pip=9.0.1',
    '- pip:',
    '  - numpy==1.13.1',
    '  - ipums-cli==1.4',
    '  - git+https://github.com/ipums/x.git@0123abc#egg=x',
    '',
  ].join('\n');
  const f = facts([
    ['python', pkg('python', ['3.6.2'])],
    ['numpy', pkg('numpy', ['1.13.1'])],
    ['pip', pkg('pip', ['9.0.1'])],
    ['ipums_utils', pkg('ipums_utils', ['1.0.0', '1.1.0'], true)],
    ['ipums_cli', pkg('ipums_cli', ['1.4'], true)],
  ]);

  it('flush-left lists: rewrites, then a second fix changes nothing (idempotent)', async () => {
    const once = await remediate(text, FILE, 'census', f, { acceptNearest: true });
    expect(once.text).toBe(
      [
        'name: census',
        'channels:',
        '- mpc',
        '- defaults',
        'dependencies:',
        '- python=3.6.2',
        '- numpy=1.13.1',
        '- mpc::ipums_utils=1.0.0',
        '- pip=9.0.1',
        '- ipums_cli=1.4',
        '- pip:',
        '  - git+https://github.com/ipums/x.git@0123abc#egg=x',
        '',
      ].join('\n'),
    );
    const twice = await remediate(once.text, FILE, 'census', f, { acceptNearest: true });
    expect(twice.changed).toBe(false);
    expect(twice.diff).toBe('');
    expect(needsFix(twice)).toBe(false);
  });

  it('names to look up cover conda deps and registry pip entries', () => {
    expect(namesToLookUp(parseSpec(text, FILE, 'census').spec!)).toEqual([
      'ipums-cli',
      'ipums_utils',
      'numpy',
      'pip',
      'python',
    ]);
  });
});

describe('bad input', () => {
  it('a spec that does not parse is left alone with its problems', async () => {
    const r = await remediate('dependencies: [\n', FILE, 'x', new Map(), { acceptNearest: true });
    expect(r.changed).toBe(false);
    expect(r.problems.some((p) => p.severity === 'error')).toBe(true);
  });

  it('a flow-style pip list is not rewritten by line: reported for a manual edit', async () => {
    const r = await remediate('dependencies:\n  - numpy\n  - pip: [numpy==1.0]\n', FILE, 'x', new Map());
    expect(r.changed).toBe(false);
    expect(r.findings).toMatchObject([{ kind: 'manual', package: 'numpy' }]);
  });
});

describe('requestedVersion', () => {
  it.each([
    ['1.2.0.*', '1.2.0'],
    ['==2.0.1', '2.0.1'],
    ['>=1.2,<2', '1.2'],
    [undefined, undefined],
  ])('%s -> %s', (v, want) => {
    expect(requestedVersion(v)).toBe(want);
  });
});

/**
 * The real env files: every rule on them with made-up channel facts. Deterministic facts from a hash of the
 * name: some pip entries are noarch on the channel, some conda versions are gone. The rewrite must parse,
 * keep every untouched line byte for byte, and a second fix must change nothing.
 */
describe('corpus: rewrites parse, touch only their lines, and are idempotent', () => {
  const dir = '/work/shared/corpus/env-files';
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
  const h = (s: string) => createHash('sha1').update(s).digest()[0]!;

  it(`over ${files.length} files`, async () => {
    let rewritten = 0;
    let rulesApplied = 0;
    for (const name of files) {
      const text = readFileSync(join(dir, name), 'utf8').replace(/^\uFEFF/, '');
      const parsed = parseSpec(text, name, 'x');
      if (!parsed.spec) continue;
      const f: ChannelFacts = new Map();
      for (const d of parsed.spec.dependencies) {
        // one dep in four has only newer versions on the channel
        if (d.spec.version && h(d.spec.name) % 4 === 0)
          f.set(normalizePipName(d.spec.name), pkg(d.spec.name, ['999.0', '999.1']));
      }
      for (const p of parsed.spec.pip) {
        if (p.name && h(p.name) % 3 === 0)
          f.set(normalizePipName(p.name), pkg(p.name.toLowerCase(), [p.version ?? '1.0'], true));
      }
      const once = await remediate(text, name, 'x', f, { acceptNearest: true });
      rulesApplied += once.applied.length;
      const again = parseSpec(once.text, name, 'x');
      expect(again.spec, `${name} still parses`).toBeDefined();
      if (once.changed) rewritten++;
      // untouched lines survive: every line the rules did not name is still there, in order
      const touched = new Set(once.applied.map((a) => a.before));
      const kept = text
        .split('\n')
        .filter((l) => ![...touched].some((t) => l.includes(t)) && !/^\s*-\s+pip:\s*$/.test(l));
      const out = once.text.split('\n');
      let k = 0;
      for (const l of out) if (k < kept.length && l === kept[k]) k++;
      expect(k, `${name}: untouched lines kept`).toBe(kept.length);
      const twice = await remediate(once.text, name, 'x', f, { acceptNearest: true });
      expect(twice.changed, `${name}: second fix changes nothing\n${twice.diff}`).toBe(false);
    }
    expect(rewritten).toBeGreaterThan(20);
    expect(rulesApplied).toBeGreaterThan(50);
  });
});
