/**
 * Bad input through the real CLI: every case exits 2 from `validate` and from `plan --root`, names the file
 * and the exact line, and writes nothing (neither in the repository nor under the root).
 * Each case costs two CLI runs; more shapes of each mistake are covered in-process by inventory.test.ts
 * and spec.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { decodeInput, MAX_INPUT_BYTES } from '../../scripts/core/input.js';
import { builtCli, inventoryText, makeRepo, runCli, snapshotTree, specText } from '../fixtures/repo.js';

const GOOD_INVENTORY = inventoryText({
  envs: { a: 'REPLICATE', b: 'export' },
  channels: ['conda-forge', 'mpc'],
  kernels: { a: 'A (Python 3)' },
});
// line numbers of GOOD_INVENTORY, for the cases below
const L = { conda: 1, version: 2, frontend: 3, channels: 4, envA: 7, envB: 8, kernels: 10, kernelA: 11 } as const;
const GOOD_SPEC = specText('a', {
  channels: ['conda-forge'],
  deps: ['python=3.11', 'numpy>=1.26', 'pip'],
  pip: ['rich==13.7.0'],
});
// lines of GOOD_SPEC: 1 name, 2 channels:, 3 conda-forge, 4 dependencies:, 5 python, 6 numpy, 7 pip, 8 - pip:, 9 rich

const invLines = GOOD_INVENTORY.trimEnd().split('\n');
/** GOOD_INVENTORY with line n (1-based) replaced by `text` (or lines inserted before it with insert). */
const invWith = (n: number, text: string, insert = false) =>
  [...invLines.slice(0, n - 1), text, ...invLines.slice(insert ? n - 1 : n)].join('\n') + '\n';
const specLines = GOOD_SPEC.trimEnd().split('\n');
const specWith = (n: number, text: string, insert = false) =>
  [...specLines.slice(0, n - 1), text, ...specLines.slice(insert ? n - 1 : n)].join('\n') + '\n';
const bytes = (...parts: Array<string | number[]>) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

interface Case {
  name: string;
  inventory?: string | Uint8Array;
  /** spec of env `a` (env `b` always has a valid one) */
  spec?: string | Uint8Array;
  /** exact `file:line` of the error */
  at: string;
  message: RegExp;
}

const CASES: Case[] = [
  // ---- inventory.ini ----
  {
    name: 'inventory: tab-indented line',
    inventory: invWith(L.envB, '\tb = export'),
    at: `inventory.ini:${L.envB}`,
    message: /indented line/,
  },
  {
    name: 'inventory: duplicate key',
    inventory: invWith(L.envB + 1, 'a = export', true),
    at: `inventory.ini:${L.envB + 1}`,
    message: /duplicate key 'a' in \[environments\] \(first at line 7\)/,
  },
  {
    name: 'inventory: duplicate section',
    inventory: `${GOOD_INVENTORY}\n[conda]\nroot = /x\n`,
    at: `inventory.ini:${invLines.length + 2}`,
    message: /section \[conda\] appears twice/,
  },
  {
    name: 'inventory: unknown section',
    inventory: invWith(L.kernels, '[kernel]'),
    at: `inventory.ini:${L.kernels}`,
    message: /unknown section \[kernel\]/,
  },
  {
    name: 'inventory: unknown key',
    inventory: invWith(L.channels, 'channel = conda-forge', true),
    at: `inventory.ini:${L.channels}`,
    message: /unknown key 'channel' in \[conda\]/,
  },
  {
    name: 'inventory: unknown mode',
    inventory: invWith(L.envB, 'b = EXPORT'),
    at: `inventory.ini:${L.envB}`,
    message: /expected one of REPLICATE, export/,
  },
  {
    name: "inventory: name '../x'",
    inventory: invWith(L.envB, '../x = export'),
    at: `inventory.ini:${L.envB}`,
    message: /invalid name '\.\.\/x'/,
  },
  {
    name: "inventory: name 'a b'",
    inventory: invWith(L.envB, 'a b = export'),
    at: `inventory.ini:${L.envB}`,
    message: /invalid name 'a b'/,
  },
  {
    name: "inventory: name 'x;rm'",
    inventory: invWith(L.envB, 'x;rm = export'),
    at: `inventory.ini:${L.envB}`,
    message: /invalid name 'x;rm'/,
  },
  {
    name: 'inventory: empty name',
    inventory: invWith(L.envB, '= export'),
    at: `inventory.ini:${L.envB}`,
    message: /empty key/,
  },
  {
    name: 'inventory: 65-character name',
    inventory: invWith(L.envB, `${'n'.repeat(65)} = export`),
    at: `inventory.ini:${L.envB}`,
    message: /invalid name 'n{65}'.*at most 64 characters/,
  },
  {
    name: 'inventory: REPLICATE env without a spec',
    inventory: invWith(L.envB + 1, 'c = REPLICATE', true),
    at: `inventory.ini:${L.envB + 1}`,
    message: /REPLICATE environment 'c' has no spec: create env-specs\/c\.yml/,
  },
  {
    name: 'inventory: kernel for an export env',
    inventory: `${GOOD_INVENTORY}b = B kernel\n`,
    at: `inventory.ini:${invLines.length + 1}`,
    message: /kernel 'b' must be a REPLICATE environment/,
  },
  {
    name: 'inventory: entry outside any section',
    inventory: `version = 1\n${GOOD_INVENTORY}`,
    at: 'inventory.ini:1',
    message: /entry outside of any section/,
  },
  {
    name: 'inventory: channel with shell characters',
    inventory: invWith(L.channels, 'channels = conda-forge, `id`'),
    at: `inventory.ini:${L.channels}`,
    message: /invalid value for conda\.channels\.1/,
  },
  {
    name: 'inventory: over 1 MB',
    inventory: GOOD_INVENTORY + `; ${'x'.repeat(100)}\n`.repeat(11000),
    at: 'inventory.ini:1',
    message: /over the 1 MB limit/,
  },
  {
    name: 'inventory: invalid UTF-8',
    inventory: bytes(invWith(L.kernelA, 'a = A ').trimEnd(), [0xff, 0xfe], ' kernel\n'),
    at: `inventory.ini:${L.kernelA}`,
    message: /not valid UTF-8/,
  },
  // ---- env-specs/a.yml ----
  {
    name: 'spec: tab in the indentation',
    spec: specWith(6, '\t- numpy>=1.26'),
    at: 'env-specs/a.yml:6',
    message: /tab characters must not be used in indentation/,
  },
  {
    name: 'spec: item indented deeper than the others',
    spec: specWith(6, '   - numpy>=1.26'),
    at: 'env-specs/a.yml:6',
    message: /indented deeper than the item of line 5/,
  },
  {
    name: 'spec: item indented less than the others',
    spec: specWith(6, ' - numpy>=1.26'),
    at: 'env-specs/a.yml:6',
    message: /invalid YAML/,
  },
  {
    name: 'spec: duplicate key',
    spec: `${GOOD_SPEC}channels:\n  - mpc\n`,
    at: `env-specs/a.yml:${specLines.length + 1}`,
    message: /duplicated key 'channels' \(first at line 2\): keep one/,
  },
  {
    name: 'spec: unknown dependency section',
    spec: specWith(8, '  - conda:'),
    at: 'env-specs/a.yml:8',
    message: /unknown dependency section 'conda:'/,
  },
  {
    name: 'spec: dependencies not a list',
    spec: 'name: a\nchannels:\n  - conda-forge\ndependencies: python=3.11\n',
    at: 'env-specs/a.yml:4',
    message: /'dependencies' must be a list/,
  },
  {
    name: 'spec: top-level pip:',
    spec: `${GOOD_SPEC}pip:\n  - requests\n`,
    at: `env-specs/a.yml:${specLines.length + 1}`,
    message: /top-level 'pip:' is not read by conda/,
  },
  {
    name: 'spec: channel not in [conda] channels',
    spec: specWith(3, '  - bioconda'),
    at: 'env-specs/a.yml:3',
    message: /channel 'bioconda' \(channels list\) is not allowed by \[conda\] channels/,
  },
  {
    name: 'spec: chan::pkg with a channel not allowed',
    spec: specWith(6, '  - pytorch::pytorch=2.1'),
    at: 'env-specs/a.yml:6',
    message: /channel 'pytorch' \(in 'pytorch::pytorch=2\.1'\) is not allowed/,
  },
  {
    name: 'spec: shell metacharacters in a package',
    spec: specWith(6, "  - 'numpy;rm -rf ~'"),
    at: 'env-specs/a.yml:6',
    message: /invalid package name 'numpy;rm'/,
  },
  {
    name: 'spec: a path as a package',
    spec: specWith(6, '  - ../../etc/passwd'),
    at: 'env-specs/a.yml:6',
    message: /invalid package name '\.\.\/\.\.\/etc\/passwd'/,
  },
  {
    name: 'spec: invalid MatchSpec',
    spec: specWith(6, '  - numpy=1.2=py39=x'),
    at: 'env-specs/a.yml:6',
    message: /too many '='/,
  },
  {
    name: 'spec: invalid version spec',
    spec: specWith(6, '  - numpy >=1.2,,<<2'),
    at: 'env-specs/a.yml:6',
    message: /invalid version spec '>=1\.2,,<<2'/,
  },
  {
    name: 'spec: pip name=1.0',
    spec: specWith(9, '      - rich=13.7.0'),
    at: 'env-specs/a.yml:9',
    message: /pip uses '==' for versions/,
  },
  {
    name: 'spec: over 1 MB',
    spec: GOOD_SPEC + `# ${'x'.repeat(100)}\n`.repeat(11000),
    at: 'env-specs/a.yml:1',
    message: /over the 1 MB limit/,
  },
  {
    name: 'spec: invalid UTF-8',
    spec: bytes(`${specLines.slice(0, 5).join('\n')}\n  - num`, [0xc3, 0x28], `py\n${specLines.slice(6).join('\n')}\n`),
    at: 'env-specs/a.yml:6',
    message: /not valid UTF-8/,
  },
  // ---- sources outside the allow-list ----
  {
    name: 'spec: channel escaping its label with ..',
    spec: specWith(3, '  - conda-forge/label/../../evil'),
    at: 'env-specs/a.yml:3',
    message: /channel 'conda-forge\/label\/\.\.\/\.\.\/evil' \(channels list\) is not a channel name/,
  },
  {
    name: 'spec: chan::pkg escaping its label with ..',
    spec: specWith(6, '  - conda-forge/label/../../evil::numpy'),
    at: 'env-specs/a.yml:6',
    message: /not a channel name: '\.\.'/,
  },
  {
    name: 'spec: [channel=file:///ANYWHERE/evilchan]',
    spec: specWith(6, '  - numpy[channel=file:///ANYWHERE/evilchan]'),
    at: 'env-specs/a.yml:6',
    message: /channel 'file:\/\/\/ANYWHERE\/evilchan' .* is not allowed by \[conda\] channels/,
  },
  {
    name: 'spec: pip --index-url',
    spec: specWith(9, '      - --index-url https://evil.example/simple'),
    at: 'env-specs/a.yml:9',
    message: /'https:\/\/evil\.example\/simple' is not under \[conda\] pip-indexes \(none\)/,
  },
  {
    name: 'spec: pip --extra-index-url',
    spec: specWith(9, '      - --extra-index-url https://evil.example/simple'),
    at: 'env-specs/a.yml:9',
    message: /pip-indexes/,
  },
  {
    name: 'spec: pip -f URL',
    spec: specWith(9, '      - -f https://evil.example/wheels'),
    at: 'env-specs/a.yml:9',
    message: /pip-indexes/,
  },
  {
    name: 'spec: pip -e ../../',
    spec: specWith(9, '      - -e ../../'),
    at: 'env-specs/a.yml:9',
    message: /-e '\.\.\/\.\.\/' leaves the repository/,
  },
  {
    name: 'spec: pip -r /etc/passwd',
    spec: specWith(9, '      - -r /etc/passwd'),
    at: 'env-specs/a.yml:9',
    message: /-r '\/etc\/passwd' is outside the repository/,
  },
  {
    name: 'spec: pip git+ URL on a host not in pip-git-hosts',
    spec: specWith(9, '      - git+https://evil.example/o/r.git@v1#egg=r'),
    at: 'env-specs/a.yml:9',
    message: /not on a host in \[conda\] pip-git-hosts \(none\)/,
  },
];

beforeAll(() => {
  return builtCli();
});

test('the table has at least 25 cases, each a different input', () => {
  expect(CASES.length).toBeGreaterThanOrEqual(25);
  expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
});

test('the table starts from a repo that is valid', async () => {
  const r = makeRepo({ inventory: GOOD_INVENTORY, specs: { a: GOOD_SPEC, b: specText('b') } });
  try {
    const res = await runCli(['validate', '--repo', r.dir]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
  } finally {
    r.cleanup();
  }
});

test('a conda dependency with pip-style extras (tiled[all]) validates with a file:line warning', async () => {
  const spec = specText('a', { deps: ['python=3.11', 'tiled[all]'] });
  const r = makeRepo({ inventory: GOOD_INVENTORY, specs: { a: spec, b: specText('b') } });
  try {
    const res = await runCli(['validate', '--repo', r.dir]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr + res.stdout).toMatch(/env-specs\/a\.yml:6.*conda ignores '\[all\]' in 'tiled\[all\]'/);
  } finally {
    r.cleanup();
  }
});

describe.concurrent('bad input: exit 2, file:line, nothing written', () => {
  const made: Array<() => void> = [];
  afterAll(() => made.forEach((cleanup) => cleanup()));

  test.each(CASES)('$name', async (c) => {
    const r = makeRepo({
      inventory: c.inventory ?? GOOD_INVENTORY,
      specs: { a: c.spec ?? GOOD_SPEC, b: specText('b') },
    });
    made.push(r.cleanup);
    const before = snapshotTree(r.base);
    const [validate, plan] = await Promise.all([
      runCli(['validate', '--repo', r.dir, '--json']),
      runCli(['plan', '--repo', r.dir, '--root', r.root]),
    ]);

    expect(validate.code, validate.stderr).toBe(2);
    const out = JSON.parse(validate.stdout) as {
      ok: boolean;
      problems: Array<{ file: string; line: number; message: string; severity: string }>;
    };
    expect(out.ok).toBe(false);
    const [file, line] = c.at.split(':');
    const hit = out.problems.find((p) => p.severity === 'error' && p.file === file && p.line === Number(line));
    expect(hit, `no error at ${c.at} in ${JSON.stringify(out.problems)}`).toBeDefined();
    expect(hit!.message).toMatch(c.message);
    expect(validate.stderr).toContain(`${c.at}: error: ${hit!.message}`);

    expect(plan.code, plan.stderr).toBe(2);
    expect(plan.stdout).toBe('');
    expect(plan.stderr).toContain(`${c.at}: error: ${hit!.message}`);

    expect(snapshotTree(r.base)).toEqual(before);
  });
});

describe('decodeInput: size and encoding before parsing', () => {
  test('a BOM is dropped, CRLF kept for the parser', () => {
    expect(decodeInput(bytes([0xef, 0xbb, 0xbf], 'a: 1\r\n'), 'f.yml')).toEqual({ text: 'a: 1\r\n' });
  });

  test('exactly 1 MB passes, one byte more does not', () => {
    expect(decodeInput(new Uint8Array(MAX_INPUT_BYTES).fill(0x20), 'f').problem).toBeUndefined();
    expect(decodeInput(new Uint8Array(MAX_INPUT_BYTES + 1).fill(0x20), 'f').problem).toEqual({
      file: 'f',
      line: 1,
      severity: 'error',
      message: `file is ${MAX_INPUT_BYTES + 1} bytes, over the 1 MB limit`,
    });
  });

  test('invalid UTF-8 is reported at the line of the first bad byte', () => {
    expect(decodeInput(bytes('a\nb\nc', [0x80], '\n'), 'f').problem).toMatchObject({
      line: 3,
      message: 'file is not valid UTF-8',
    });
    expect(decodeInput(bytes([0xff], 'a\n'), 'f').problem).toMatchObject({ line: 1 });
    expect(decodeInput(bytes('ok: é\n'), 'f').text).toBe('ok: é\n');
  });
});
