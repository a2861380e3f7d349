import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { Ajv } from 'ajv';
import { parseInventory, ENV_NAME } from '../../scripts/core/inventory.js';
import { loadSchema } from '../../scripts/core/schemas.js';
import { checkRepoDir, loadRepo, resolveRoot } from '../../scripts/repo/repo.js';
import { channelAllowed } from '../../scripts/core/channel.js';
import { checkRepo } from '../../scripts/core/repo.js';
import { InputError, UsageError, type Problem } from '../../scripts/core/errors.js';
import { exitCodeOfError } from '../../scripts/cli/exit.js';
import { inventoryText, makeRepo, specText } from '../fixtures/repo.js';

const repoDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const errors = (ps: Problem[]) =>
  ps.filter((p) => p.severity === 'error').map((p) => `${p.file}:${p.line}: ${p.message}`);
const bytes = (s: string) => new TextEncoder().encode(s);

const BASE = ['[conda]', 'version = 23.11.0', 'channels = conda-forge', '', '[environments]', 'a = REPLICATE'];
const inv = (...extra: string[]) => [...BASE, ...extra].join('\n') + '\n';
const NAME_RULE = "names are letters, digits, '.', '_', '-', at most 64 characters, starting with a letter or digit";

describe('parseInventory', () => {
  test('[kernels] ENV:SPEC publishes a kernelspec the env ships; its name and its env are checked at its line', () => {
    const ok = parseInventory(inv('[kernels]', 'a = A (Python)', 'a:ir = A (R)', 'a:xcpp17 = A; C++'));
    expect(ok.problems).toEqual([]);
    expect(ok.inventory!.kernels.map((k) => [k.name, k.spec, k.displayName, k.line])).toEqual([
      ['a', undefined, 'A (Python)', 8],
      ['a', 'ir', 'A (R)', 9],
      ['a', 'xcpp17', 'A; C++', 10],
    ]);
    const bad = parseInventory(
      inv('x = export', '[kernels]', 'a:i r = R', 'nope:ir = R', 'x:ir = R', 'A:IR = R', 'a:ir = r'),
    );
    expect(errors(bad.problems)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^inventory\.ini:9: .*'a:i r'/),
        "inventory.ini:10: kernel 'nope' is not an environment listed in [environments]",
        "inventory.ini:11: kernel 'x' must be a REPLICATE environment (it is 'export' at line 7)",
        "inventory.ini:13: kernel 'a:ir' clashes with the kernel at line 12 (kernel names are case-insensitive)",
      ]),
    );
  });

  test('[conda] allow-failures: REPLICATE envs only, each problem at its line', () => {
    const ok = parseInventory(inv('b = REPLICATE').replace('[conda]\n', '[conda]\nallow-failures = b, a, b\n'));
    expect(ok.problems).toEqual([]);
    expect(ok.inventory!.conda.allowFailures).toEqual(['a', 'b']);
    const bad = parseInventory(inv('x = export').replace('[conda]\n', '[conda]\nallow-failures = nope, x\n'));
    expect(errors(bad.problems)).toEqual([
      "inventory.ini:2: allow-failures: 'nope' is not an environment listed in [environments]",
      "inventory.ini:2: allow-failures: 'x' must be a REPLICATE environment (it is 'export' at line 8)",
    ]);
    expect(parseInventory(inv()).inventory!.conda.allowFailures).toBeUndefined();
  });

  test("the repository's own inventory.ini: every section, value and line", () => {
    const text = readFileSync(join(repoDir, 'inventory.ini'), 'utf8');
    const { inventory, problems } = parseInventory(text);
    expect(problems).toEqual([]);
    const lineOf = (s: string) => text.split('\n').findIndex((l) => l.startsWith(s)) + 1;
    expect(inventory!.conda).toMatchObject({
      version: '23.11.0',
      frontend: 'conda',
      channels: ['conda-forge', 'mpc'],
      line: lineOf('[conda]'),
    });
    expect(inventory!.environments.length).toBeGreaterThanOrEqual(5);
    for (const e of inventory!.environments) expect(e.line).toBe(lineOf(`${e.name} `));
    expect(inventory!.environments.filter((e) => e.mode === 'export').length).toBeGreaterThanOrEqual(1);
    expect(inventory!.kernels.length).toBeGreaterThanOrEqual(1);
    expect(inventory!.legacyNoarch.map((l) => l.name)).toContain('ipums_utils');
  });

  test('inline comments, optional keys, defaults', () => {
    const { inventory, problems } = parseInventory(
      [
        '; desired state',
        '[conda]',
        'root = /pkg/conda  ; overridable',
        'version = 24.1.2',
        'frontend = mamba',
        'installer = /pkg/Miniconda3-{version}-Linux-x86_64.sh',
        'channels = conda-forge, mpc https://repo.example.org/chan',
        '',
        '# envs',
        '[environments]',
        'hlink = REPLICATE   ; built',
        'old.v1_x-2 = export',
        '[kernels]',
        'hlink = HLINK (Python 3.10)',
        '[legacy-noarch]',
        'ipums_utils',
        'old_pkg   ; comment',
      ].join('\n'),
    );
    expect(problems).toEqual([]);
    expect(inventory).toEqual({
      file: 'inventory.ini',
      conda: {
        root: '/pkg/conda',
        version: '24.1.2',
        frontend: 'mamba',
        installer: '/pkg/Miniconda3-{version}-Linux-x86_64.sh',
        channels: ['conda-forge', 'mpc', 'https://repo.example.org/chan'],
        line: 2,
        keyLines: { root: 3, version: 4, frontend: 5, installer: 6, channels: 7 },
      },
      environments: [
        { name: 'hlink', mode: 'REPLICATE', line: 11 },
        { name: 'old.v1_x-2', mode: 'export', line: 12 },
      ],
      kernels: [{ name: 'hlink', displayName: 'HLINK (Python 3.10)', line: 14 }],
      legacyNoarch: [
        { name: 'ipums_utils', line: 16 },
        { name: 'old_pkg', line: 17 },
      ],
    });
    expect(parseInventory(inv()).inventory!.conda.frontend).toBe('conda');
  });

  test('CRLF line endings keep the lines', () => {
    const { inventory } = parseInventory(inv('b = export').replace(/\n/g, '\r\n'));
    expect(inventory!.environments).toEqual([
      { name: 'a', mode: 'REPLICATE', line: 6 },
      { name: 'b', mode: 'export', line: 7 },
    ]);
  });

  test.each([
    ['a duplicate env', inv('a = export'), "inventory.ini:7: duplicate key 'a' in [environments] (first at line 6)"],
    [
      'a duplicate section',
      inv('[conda]', 'root = /x'),
      'inventory.ini:7: section [conda] appears twice (first at line 1)',
    ],
    [
      'an unknown section',
      inv('[extras]', 'x = 1'),
      'inventory.ini:7: unknown section [extras] (known: [conda], [environments], [kernels], [legacy-noarch])',
    ],
    [
      'an unknown key',
      inv().replace('channels', 'colour = red\nchannels'),
      "inventory.ini:3: unknown key 'colour' in [conda]",
    ],
    [
      'an unknown mode',
      inv('b = KEEP'),
      "inventory.ini:7: invalid value 'KEEP' for environments.b: expected one of REPLICATE, export",
    ],
    [
      'a lower-case mode',
      inv('b = replicate'),
      "inventory.ini:7: invalid value 'replicate' for environments.b: expected one of REPLICATE, export: " +
        "did you mean 'REPLICATE'?",
    ],
    [
      'an unknown frontend',
      inv().replace('channels', 'frontend = pip\nchannels'),
      "inventory.ini:3: invalid value 'pip' for conda.frontend: expected one of conda, mamba, micromamba",
    ],
    [
      'a bad version',
      inv().replace('23.11.0', 'latest'),
      'inventory.ini:2: invalid value for conda.version: must match ^[0-9]+\\.[0-9]+(\\.[0-9]+)?$',
    ],
    [
      'a relative root',
      inv().replace('channels', 'root = pkg/conda\nchannels'),
      'inventory.ini:3: invalid value for conda.root: must match ^/[^\\0]*$',
    ],
    ['no channels', inv().replace('channels = conda-forge\n', ''), "inventory.ini:1: [conda] needs 'channels'"],
    [
      'an empty channel list',
      inv().replace('channels = conda-forge', 'channels ='),
      'inventory.ini:3: conda.channels must NOT have fewer than 1 items',
    ],
    [
      'a channel with shell characters',
      inv().replace('channels = conda-forge', 'channels = conda-forge, $(id)'),
      'inventory.ini:3: invalid value for conda.channels.1: must match ^[A-Za-z0-9_.:/~+-]+$',
    ],
    [
      'no [environments]',
      '[conda]\nversion = 23.11.0\nchannels = conda-forge\n',
      'inventory.ini:1: missing section [environments]',
    ],
    ['an entry before any section', `x = 1\n${inv()}`, 'inventory.ini:1: entry outside of any section'],
    [
      'an indented line',
      inv('  b = REPLICATE'),
      'inventory.ini:7: indented line: continuation lines are not supported, start keys at column 1',
    ],
    [
      'a tab-indented line',
      inv('\tb = REPLICATE'),
      'inventory.ini:7: indented line: continuation lines are not supported, start keys at column 1',
    ],
    ['an empty name', inv('= REPLICATE'), 'inventory.ini:7: empty key'],
    ['a key without value', inv('b'), "inventory.ini:7: 'b' has no value (expected 'b = ...')"],
    ['a path as a name', inv('../x = REPLICATE'), `inventory.ini:7: invalid name '../x': ${NAME_RULE}`],
    ['a name with a space', inv('a b = REPLICATE'), `inventory.ini:7: invalid name 'a b': ${NAME_RULE}`],
    ['a name with ;', inv('x;rm = REPLICATE'), `inventory.ini:7: invalid name 'x;rm': ${NAME_RULE}`],
    ['a hidden name', inv('.hidden = REPLICATE'), `inventory.ini:7: invalid name '.hidden': ${NAME_RULE}`],
    ['__proto__ as a name', inv('__proto__ = REPLICATE'), `inventory.ini:7: invalid name '__proto__': ${NAME_RULE}`],
    [
      'a 65-character name',
      inv(`${'x'.repeat(65)} = REPLICATE`),
      `inventory.ini:7: invalid name '${'x'.repeat(65)}': ${NAME_RULE}`,
    ],
    [
      'a kernel for an export env',
      inv('b = export', '[kernels]', 'b = B'),
      "inventory.ini:9: kernel 'b' must be a REPLICATE environment (it is 'export' at line 7)",
    ],
    [
      'a kernel for an unknown env',
      inv('[kernels]', 'zz = Z'),
      "inventory.ini:8: kernel 'zz' is not an environment listed in [environments]",
    ],
    [
      'an empty kernel display name',
      inv('[kernels]', 'a ='),
      'inventory.ini:8: kernels.a must NOT have fewer than 1 characters',
    ],
    [
      'two kernels differing in case',
      inv('A = REPLICATE', '[kernels]', 'a = x', 'A = y'),
      "inventory.ini:10: kernel 'A' clashes with the kernel at line 9 (kernel names are case-insensitive)",
    ],
    [
      'a legacy-noarch entry with a value',
      inv('[legacy-noarch]', 'pkg = 1'),
      "inventory.ini:8: [legacy-noarch] lists bare package names, got 'pkg = 1'",
    ],
    [
      'a legacy-noarch name with spaces',
      inv('[legacy-noarch]', 'Foo Bar'),
      'inventory.ini:8: invalid value for legacy-noarch.0: must match ^[a-z0-9_][a-z0-9_.+-]*$',
    ],
  ])('rejects %s at its line', (_what, text, expected) => {
    const { inventory, problems } = parseInventory(text);
    expect(inventory).toBeUndefined();
    expect(errors(problems)).toContain(expected);
  });

  test('a 64-character name is fine; the name rule is the design card rule', () => {
    expect(parseInventory(inv(`${'x'.repeat(64)} = export`)).problems).toEqual([]);
    expect(ENV_NAME.source).toBe('^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$');
  });

  test('every problem is reported at once, not only the first', () => {
    const { problems } = parseInventory(inv('a b = REPLICATE', 'c = KEEP', '[nope]'));
    expect(errors(problems).map((e) => e.split(':')[1])).toEqual(['9', '7', '8']);
  });

  test('the JSON Schema is a valid draft-07 schema and documents every section', () => {
    const schema = loadSchema('inventory') as { properties: Record<string, { description?: string }> };
    expect(new Ajv().validateSchema(schema)).toBe(true);
    expect(Object.keys(schema.properties).sort()).toEqual(['conda', 'environments', 'kernels', 'legacy-noarch']);
    for (const s of Object.values(schema.properties)) expect(s.description).toBeTruthy();
  });
});

describe('checkRepo: inventory and specs together', () => {
  const files = (inventory: string, specs: Record<string, string>) => ({
    inventory: bytes(inventory),
    specs: new Map(Object.entries(specs).map(([n, t]) => [n, bytes(t)])),
  });
  const twoChannels = inventoryText({ envs: { a: 'REPLICATE', b: 'export' }, channels: ['conda-forge', 'mpc'] });

  test('a valid repo: specs by name, warnings kept', () => {
    const { repo, problems } = checkRepo(
      '/r',
      files(twoChannels, {
        'a.yml': specText('a', { channels: ['conda-forge', 'mpc'], deps: ['python=3.11', 'mpc::ipums_utils'] }),
        'b.yml': specText('other', { deps: ['python=2.7'] }),
        'a.test.py': 'print(1)\n',
        'README.md': '# notes\n',
        'zz.yml': specText('zz'),
      }),
    );
    expect(errors(problems)).toEqual([]);
    expect([...repo!.specs.keys()]).toEqual(['a', 'b']);
    expect(repo!.warnings.map((w) => `${w.file}:${w.line}: ${w.message}`)).toEqual([
      'env-specs/README.md:1: not a NAME.yml spec or NAME.test.sh/.py test: ignored',
      "env-specs/b.yml:1: name 'other' differs from the file name; the env is called 'b'",
      "env-specs/zz.yml:1: 'zz' is not listed in inventory.ini: not built",
    ]);
  });

  test('channels: the spec list and chan::pkg must be allowed by [conda] channels', () => {
    const { problems } = checkRepo(
      '/r',
      files(inventoryText({ envs: { a: 'REPLICATE' } }), {
        'a.yml':
          'name: a\nchannels:\n  - conda-forge\n  - bioconda\n  - nodefaults\n' +
          'dependencies:\n  - python\n  - pytorch::pytorch\n  - conda-forge/label/main::numpy\n',
      }),
    );
    expect(errors(problems)).toEqual([
      "env-specs/a.yml:4: channel 'bioconda' (channels list) is not allowed by [conda] channels (conda-forge)",
      "env-specs/a.yml:8: channel 'pytorch' (in 'pytorch::pytorch') is not allowed by [conda] channels (conda-forge)",
    ]);
  });

  test('channelAllowed: exact names, trailing slashes, nodefaults', () => {
    expect(channelAllowed('conda-forge', ['conda-forge'])).toBe(true);
    expect(channelAllowed('https://repo.example.org/chan/', ['https://repo.example.org/chan'])).toBe(true);
    expect(channelAllowed('nodefaults', ['conda-forge'])).toBe(true);
    expect(channelAllowed('conda-forge-evil', ['conda-forge'])).toBe(false);
    expect(channelAllowed('defaults', ['conda-forge'])).toBe(false);
  });

  test('every env needs a spec, export ones included', () => {
    const { repo, problems } = checkRepo('/r', files(twoChannels, { 'a.yml': specText('a') }));
    expect(repo).toBeUndefined();
    expect(errors(problems)).toEqual([
      "inventory.ini:8: export environment 'b' has no spec: create env-specs/b.yml (conda-gitops export can write it)",
    ]);
  });

  test('no inventory.ini at all', () => {
    expect(errors(checkRepo('/r', { inventory: undefined, specs: new Map() }).problems)).toEqual([
      'inventory.ini:1: inventory.ini not found in /r: run conda-gitops in the repository, or pass --repo DIR',
    ]);
  });
});

describe('checkRepoDir: version specs of every shape are checked', () => {
  const repoWith = (dep: string) =>
    makeRepo({
      inventory: inventoryText({ envs: { a: 'REPLICATE' } }),
      specs: { a: specText('a', { deps: ['python=3.11', dep] }) },
    });

  test.each([
    ['a plain spec', 'numpy >=1.20,<2', []],
    ['a rare but valid spec', 'r-foo 1!2.0', []],
    ['a compatible-release spec', 'numpy ~=1.26', []],
    ['an invalid spec', 'numpy >=1.2,,<<2', ["env-specs/a.yml:6: invalid version spec '>=1.2,,<<2'"]],
    ['an invalid spec in the space form', 'numpy 3.x.y..', ["env-specs/a.yml:6: invalid version spec '3.x.y..'"]],
  ])('%s', async (_what, dep, expected) => {
    const r = repoWith(dep);
    try {
      const { repo, problems } = await checkRepoDir(r.dir);
      expect(errors(problems).map((e) => e.replace(/': .*$/, "'"))).toEqual(expected);
      expect(repo === undefined).toBe(expected.length > 0);
    } finally {
      r.cleanup();
    }
  });
});

describe('loadRepo and resolveRoot', () => {
  test('loadRepo throws an InputError (exit 2) listing every error with file:line', async () => {
    const r = makeRepo({ inventory: inv('b = REPLICATE'), specs: { a: 'name: a\ndependencies: python\n' } });
    try {
      const err = await loadRepo(r.dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      expect(exitCodeOfError(err)).toBe(2);
      expect((err as InputError).message.split('\n')).toEqual([
        "env-specs/a.yml:2: error: 'dependencies' must be a list",
        "inventory.ini:7: error: REPLICATE environment 'b' has no spec: " +
          'create env-specs/b.yml (conda-gitops export can write it)',
      ]);
    } finally {
      r.cleanup();
    }
  });

  test('root: --root, then $CONDA_GITOPS_ROOT, then [conda] root; none is a usage error', async () => {
    const r = makeRepo({ specs: { a: specText('a') } });
    const at = (d: string) => join(r.base, d);
    for (const d of ['flag', 'env', 'inventory']) mkdirSync(at(d));
    writeFileSync(join(r.dir, 'inventory.ini'), inv().replace('channels', `root = ${at('inventory')}\nchannels`));
    try {
      const { inventory } = await loadRepo(r.dir);
      expect(resolveRoot({ options: { root: at('flag') }, env: { CONDA_GITOPS_ROOT: at('env') } }, inventory)).toBe(
        at('flag'),
      );
      expect(resolveRoot({ options: {}, env: { CONDA_GITOPS_ROOT: at('env') } }, inventory)).toBe(at('env'));
      expect(resolveRoot({ options: {}, env: {} }, inventory)).toBe(at('inventory'));
      const rel = relative(process.cwd(), at('flag'));
      expect(resolveRoot({ options: { root: rel }, env: {} }, inventory)).toBe(join(process.cwd(), rel));
      // a root that does not exist, or is a file: a usage error, and nothing is created
      expect(() => resolveRoot({ options: { root: at('typo') }, env: {} }, inventory)).toThrow(/does not exist/);
      expect(existsSync(at('typo'))).toBe(false);
      expect(() => resolveRoot({ options: { root: join(r.dir, 'inventory.ini') }, env: {} }, inventory)).toThrow(
        /not a directory/,
      );
      expect(() => resolveRoot({ options: {}, env: {} })).toThrow(UsageError);
    } finally {
      r.cleanup();
    }
  });
});

describe('reserved environment names', () => {
  test.each(['base', 'root', 'current', 'qa', 'Base'])("'%s' is refused at its line", (name) => {
    const text = [
      '[conda]',
      'version = 23.11.0',
      'channels = conda-forge',
      '',
      '[environments]',
      `${name} = REPLICATE`,
      '',
    ].join('\n');
    const { problems } = parseInventory(text);
    expect(problems).toEqual([
      expect.objectContaining({
        line: 6,
        severity: 'error',
        message: expect.stringMatching(new RegExp(`environment name '${name}' is reserved: `)),
      }),
    ]);
  });
});
