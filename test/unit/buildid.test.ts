import { describe, expect, test } from 'vitest';
import { dump, load } from 'js-yaml';
import { parseSpec } from '../../scripts/core/spec.js';
import {
  buildId,
  buildIdInputs,
  legacyNoarchOf,
  normalizeSpec,
  specHash,
  BUILD_ID_LENGTH,
  inputsBuildId,
  nextRepairId,
  repairBuildId,
  repairNumber,
} from '../../scripts/core/buildid.js';
import type { EnvSpec, Inventory, NormalizedSpec } from '../../scripts/core/types.js';
import { corpusFiles, corpusPresent, corpusText } from '../fixtures/repo.js';

function inventory(o: Partial<Inventory['conda']> & { legacy?: string[] } = {}): Inventory {
  return {
    file: 'inventory.ini',
    conda: { version: o.version ?? '23.11.0', frontend: o.frontend ?? 'conda', channels: ['conda-forge'], line: 1 },
    environments: [{ name: 'demo', mode: 'REPLICATE', line: 8 }],
    kernels: [],
    legacyNoarch: (o.legacy ?? []).map((name, i) => ({ name, line: 20 + i })),
  };
}
const INV = inventory();

function spec(text: string): EnvSpec {
  const { spec: s, problems } = parseSpec(text, 'env-specs/demo.yml', 'demo');
  const errors = problems.filter((p) => p.severity === 'error');
  if (!s)
    throw new Error(`spec did not parse:\n${errors.map((p) => `${p.line}: ${p.message}`).join('\n')}\n---\n${text}`);
  return s;
}
const idOf = (text: string, inv = INV) => buildId(spec(text), inv);

// ---- rewrites of a spec that keep its meaning (driven through js-yaml: load, change, dump) ----

type Doc = Record<string, unknown>;
const asDoc = (text: string) => load(text.replace(/^\uFEFF/, '')) as Doc;
const render = (doc: Doc, indent = 2, seqNoIndent = false) => dump(doc, { indent, seqNoIndent, lineWidth: -1 });
const isPipItem = (d: unknown): d is { pip: unknown[] } =>
  typeof d === 'object' && d !== null && Array.isArray((d as Doc).pip);
/** Reversed then rotated: a different order for any list of 3 or more. */
const scramble = <T>(xs: T[]): T[] => {
  const r = [...xs].reverse();
  return r.length > 2 ? [...r.slice(1), r[0]!] : r;
};
const isPipOption = (p: unknown) =>
  typeof p === 'string' && /^-/.test(p.trim()) && !/^(-e|--editable|-r|--requirement)\b/.test(p.trim());

const rewrites: Record<string, (text: string) => string> = {
  'top-level keys in reverse order': (t) => render(Object.fromEntries(Object.entries(asDoc(t)).reverse())),
  'dependencies and pip requirements reordered, pip: moved first': (t) => {
    const doc = asDoc(t);
    const deps = Array.isArray(doc.dependencies) ? doc.dependencies : [];
    const pipItem = deps.find(isPipItem);
    const others = scramble(deps.filter((d) => !isPipItem(d)));
    if (!pipItem) return render({ ...doc, dependencies: others });
    // pip options (--extra-index-url) keep their order among themselves: pip reads them in order
    const options = pipItem.pip.filter(isPipOption);
    const reqs = scramble(pipItem.pip.filter((p) => !isPipOption(p)));
    return render({
      ...doc,
      dependencies: [{ ...pipItem, pip: [...reqs.slice(0, 1), ...options, ...reqs.slice(1)] }, ...others],
    });
  },
  'indent 4 and lists at the key column': (t) => render(asDoc(t), 4, true),
  'comments, blank lines, trailing spaces and CRLF': (t) => {
    const out = ['# owned by the data team', ''];
    for (const line of render(asDoc(t)).split('\n')) {
      if (!line.trim()) continue;
      out.push(/^\s*- [^'"{[|>]/.test(line) && !line.includes(' #') ? `${line}   # pinned on purpose` : `${line}  `);
      if (/^\S/.test(line)) out.push('', '  # a comment between entries');
    }
    return out.join('\r\n') + '\r\n';
  },
  'duplicated dependency lines': (t) => {
    const doc = asDoc(t);
    const deps = Array.isArray(doc.dependencies) ? doc.dependencies : [];
    return render({ ...doc, dependencies: [...deps, ...deps.filter((d) => typeof d === 'string')] });
  },
};

/** A spec file written back from its normalised form: normalising it again must change nothing. */
function renderNormalized(n: NormalizedSpec): string {
  const doc: Doc = {
    name: 'demo',
    channels: n.channels,
    dependencies: [...n.dependencies, ...(n.pip.length ? [{ pip: n.pip }] : [])],
  };
  if (n.variables.length) doc.variables = Object.fromEntries(n.variables);
  return dump(doc, { lineWidth: -1 });
}

const files = corpusFiles().filter((f) => {
  const deps = (asDoc(corpusText(f)).dependencies ?? []) as unknown[];
  return Array.isArray(deps) && deps.length > 0;
});

describe.skipIf(!corpusPresent)('build id over the real corpus', () => {
  test('the corpus has files to check', () => {
    expect(files.length).toBeGreaterThanOrEqual(100);
  });

  describe.each(Object.keys(rewrites))('unchanged by: %s', (name) => {
    test.each(files)('%s', (file) => {
      const original = corpusText(file);
      const rewritten = rewrites[name]!(original);
      // the rewrite itself must keep the YAML's meaning, or the check below proves nothing
      if (name !== 'duplicated dependency lines') {
        const norm = (d: Doc) => ({ ...d, dependencies: undefined });
        expect(norm(asDoc(rewritten))).toEqual(norm(asDoc(original)));
      }
      expect(idOf(rewritten)).toBe(idOf(original));
    });

    test('rewrites most files into different text (else the check above would be empty)', () => {
      const plain = (t: string) => t.replace(/\r\n/g, '\n').trimEnd();
      const changed = files.filter((f) => plain(rewrites[name]!(corpusText(f))) !== plain(corpusText(f)));
      expect(changed.length).toBeGreaterThan(files.length * 0.8);
    });
  });

  test.each(files)('%s: normalising twice gives the same result and the same id', (file) => {
    const s = spec(corpusText(file));
    const once = normalizeSpec(s);
    const again = normalizeSpec(spec(renderNormalized(once)));
    expect(again).toEqual(once);
    expect(idOf(renderNormalized(once))).toBe(buildId(s, INV));
  });

  test.each(files)('%s: any dependency change changes the id', (file) => {
    const original = corpusText(file);
    const doc = asDoc(original);
    const deps = doc.dependencies as unknown[];
    const base = idOf(original);
    const variants: Record<string, Doc> = {};
    const firstConda = deps.findIndex((d) => typeof d === 'string');
    if (firstConda >= 0) {
      const d = deps[firstConda] as string;
      const name = /^[^\s=<>!~[]+/.exec(d.replace(/^.*::/, ''))![0];
      const with_ = (text: string) => ({ ...doc, dependencies: deps.map((x, i) => (i === firstConda ? text : x)) });
      variants['package renamed'] = with_(d.replace(name, `${name}-renamed`));
      variants['version changed'] = with_(`${name} 99.1.*`);
      variants['build pinned'] = with_(`${name} 1.0 special_build_0`);
      variants['channel prefix added'] = with_(`other-channel::${d.replace(/^.*::/, '')}`);
      variants['dependency removed'] = { ...doc, dependencies: deps.filter((_, i) => i !== firstConda) };
    }
    variants['dependency added'] = { ...doc, dependencies: [...deps, 'zlib-added-for-test'] };
    const pipItem = deps.find(isPipItem);
    if (pipItem) {
      const reqIndex = pipItem.pip.findIndex((p) => typeof p === 'string' && /^[A-Za-z]/.test(p));
      if (reqIndex >= 0) {
        const pipWith = (pip: unknown[]) => ({ ...doc, dependencies: deps.map((x) => (x === pipItem ? { pip } : x)) });
        variants['pip entry changed'] = pipWith(
          pipItem.pip.map((p, i) => (i === reqIndex ? `${String(p).split(/[=<>!~ ;@[]/)[0]}==0.0.1` : p)),
        );
        variants['pip entry removed'] = pipWith(pipItem.pip.filter((_, i) => i !== reqIndex));
      }
      variants['pip entry added'] = {
        ...doc,
        dependencies: deps.map((x) => (x === pipItem ? { pip: [...pipItem.pip, 'cg-added-for-test==0.0.1'] } : x)),
      };
    } else {
      variants['pip section added'] = { ...doc, dependencies: [...deps, { pip: ['cg-added-for-test==0.0.1'] }] };
    }
    const channels = Array.isArray(doc.channels) ? (doc.channels as string[]) : [];
    variants['channel added'] = { ...doc, channels: [...channels, 'extra-channel'] };
    if (new Set(channels).size > 1)
      variants['channel priority swapped'] = { ...doc, channels: [...channels].reverse() };
    variants['variable set'] = { ...doc, variables: { ...(doc.variables as Doc | undefined), CG_TEST_VAR: 'on' } };

    const ids = new Map<string, string>([['original', base]]);
    for (const [what, d] of Object.entries(variants)) {
      const id = idOf(render(d));
      expect(id, `${what} must change the build id`).not.toBe(base);
      ids.set(what, id);
    }
    // and no two different changes collide
    expect(new Set(ids.values()).size).toBe(ids.size);
  });
});

describe('build id: what else goes in', () => {
  const text =
    'name: demo\nchannels: [conda-forge, mpc]\ndependencies:\n' +
    '  - python=3.10\n  - mpc::ipums_utils=1.2\n  - pip\n  - pip:\n    - rich==13.0.0\n';

  test('is 12 lowercase hex digits and stable across calls', () => {
    expect(BUILD_ID_LENGTH).toBe(12);
    expect(idOf(text)).toMatch(/^[0-9a-f]{12}$/);
    expect(idOf(text)).toBe(idOf(text));
  });

  test('conda version, frontend and legacy-noarch handling each change it', () => {
    const ids = [
      idOf(text),
      idOf(text, inventory({ version: '24.1.2' })),
      idOf(text, inventory({ frontend: 'mamba' })),
      idOf(text, inventory({ legacy: ['ipums_utils'] })),
    ];
    expect(new Set(ids).size).toBe(4);
  });

  test('a legacy-noarch package the env does not use leaves the id alone', () => {
    expect(idOf(text, inventory({ legacy: ['some_other_pkg'] }))).toBe(idOf(text));
    expect(legacyNoarchOf(spec(text), inventory({ legacy: ['some_other_pkg', 'ipums_utils'] }))).toEqual([
      'ipums_utils',
    ]);
  });

  test('the env name and the name: line do not count: two envs with one spec share a build id', () => {
    expect(idOf(text.replace('name: demo', 'name: other'))).toBe(idOf(text));
    expect(buildId(parseSpec(text, 'env-specs/twin.yml', 'twin').spec!, INV)).toBe(idOf(text));
  });

  test('spelling of the same MatchSpec does not count: `=1.2`, `1.2.*`, spaces, name case', () => {
    const a = idOf('name: demo\ndependencies:\n  - numpy=1.26\n  - pandas>=2.0,<3\n  - NumExpr\n');
    const b = idOf('name: demo\ndependencies:\n  - numpy 1.26.*\n  - pandas >=2.0, <3\n  - numexpr\n');
    const c = idOf(
      "name: demo\ndependencies:\n  - \"numpy[version='1.26.*']\"\n  - pandas[version='>=2.0,<3']\n  - numexpr\n",
    );
    expect(b).toBe(a);
    expect(c).toBe(a);
  });

  test('pip options keep their order (pip reads them in order), requirements do not', () => {
    const pip = (entries: string[]) =>
      idOf(`name: demo\ndependencies:\n  - pip\n  - pip:\n${entries.map((e) => `    - ${e}\n`).join('')}`);
    const base = pip(['--index-url https://a', '--extra-index-url https://b', 'rich==13.0.0', 'httpx']);
    expect(pip(['httpx', '--index-url https://a', 'rich==13.0.0', '--extra-index-url https://b'])).toBe(base);
    expect(pip(['--extra-index-url https://b', '--index-url https://a', 'rich==13.0.0', 'httpx'])).not.toBe(base);
  });

  test('the inputs are what the design names: scheme, normalised spec, conda version, frontend, legacy noarch', () => {
    const inputs = buildIdInputs(spec(text), inventory({ legacy: ['ipums_utils'] }));
    expect(Object.keys(inputs).sort()).toEqual(['condaVersion', 'frontend', 'legacyNoarch', 'scheme', 'spec']);
    expect(inputs.spec).toEqual({
      channels: ['conda-forge', 'mpc'],
      dependencies: ['mpc::ipums_utils 1.2.*', 'pip', 'python 3.10.*'],
      pip: ['rich==13.0.0'],
      variables: [],
    });
  });

  test('the channel mapping (custom-channels, channel-alias, default-channels) changes it', () => {
    const mapped = (conda: Partial<Inventory['conda']>) => idOf(text, { ...INV, conda: { ...INV.conda, ...conda } });
    const ids = [
      idOf(text),
      mapped({ customChannels: { 'conda-forge': 'file:///srv/mirror' } }),
      mapped({ customChannels: { 'conda-forge': 'file:///home/runner/evil' } }),
      mapped({ channelAlias: 'https://conda.internal' }),
      mapped({ defaultChannels: ['https://conda.internal/main'] }),
    ];
    expect(new Set(ids).size).toBe(5);
    // how it is written does not count: the same mapping in another order is the same id
    expect(mapped({ customChannels: { a: 'file:///x', b: 'file:///y' } })).toBe(
      mapped({ customChannels: { b: 'file:///y', a: 'file:///x' } }),
    );
    // settings that do not decide where packages come from leave it alone
    expect(mapped({ solver: 'classic', pkgsDirs: ['/srv/pkgs'] })).toBe(idOf(text));
  });

  test('specHash follows the spec only, not the installation', () => {
    const s = spec(text);
    expect(specHash(s)).toMatch(/^[0-9a-f]{12}$/);
    expect(specHash(spec(text.replace('python=3.10', 'python=3.11')))).not.toBe(specHash(s));
    expect(specHash(spec(text.replace(/\n/g, '\r\n')))).toBe(specHash(s));
  });
});

describe('repair build ids (deploy --repair)', () => {
  const id = '0123456789ab';
  test('<id>.rN keeps the inputs id; the next repair takes the next free N', () => {
    expect(repairBuildId(id, 1)).toBe(`${id}.r1`);
    expect(inputsBuildId(`${id}.r12`)).toBe(id);
    expect(inputsBuildId(id)).toBe(id);
    expect(repairNumber(`${id}.r3`)).toBe(3);
    expect(repairNumber(id)).toBe(0);
    expect(nextRepairId(id, [id, `${id}.json`, `${id}.log`])).toBe(`${id}.r1`);
    expect(nextRepairId(`${id}.r1`, [id, `${id}.r1`, `${id}.r2.json`, 'ffffffffffff.r7'])).toBe(`${id}.r3`);
  });
});
