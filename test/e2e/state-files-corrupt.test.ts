/**
 * Every kind of state file under ROOT, corrupted in turn (cut short, garbage, valid JSON of the wrong shape), through
 * the compiled CLI: each command that reads the file exits 1 naming it and what to do, never 70 with a stack, and
 * nothing else under ROOT changes. The journals (history, rollback marks, installation marks) are append-only: a
 * last line cut short is a write a crash interrupted, skipped and reported (exit as usual), never an error.
 *
 * One realistic ROOT is built once (two envs, one a kernel, three generations through deploy, rollback and
 * deploy --force, build manifests, both mark journals); each case works on a copy of it.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addTestedBuilds, makeInstallation, tempDir, writeRepo, VERSION } from '../fixtures/installation.js';
import { runCli, type CliResult } from '../fixtures/repo.js';
import { buildPaths, installationLayout, layout } from '../../scripts/core/layout.js';
import { verdictPath } from '../../scripts/state/verdict.js';
import { manifestPathOf, writeManifest } from '../../scripts/state/manifest.js';
import { clearInstallationMark, markInstallationBad } from '../../scripts/state/installation-marks.js';
import type { Desired } from '../../scripts/core/desired.js';

const inst = `v${VERSION}`;
let template: string;
let repo: string;
let desired: Desired;
const scratch: string[] = [];

/** Every file and link under `dir` (content hashes, link targets), `skip` left out: what "nothing changed" means. */
function treeHash(dir: string, skip: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (p === skip) continue;
      const st = lstatSync(p);
      const rel = relative(dir, p);
      if (st.isSymbolicLink()) h.update(`L ${rel} ${readlinkSync(p)}\n`);
      else if (st.isDirectory()) {
        h.update(`D ${rel}\n`);
        walk(p);
      } else h.update(`F ${rel} ${st.mode} ${createHash('sha256').update(readFileSync(p)).digest('hex')}\n`);
    }
  };
  walk(dir);
  return h.digest('hex');
}

/**
 * A copy of the template ROOT at `dest`: times kept (the build manifests compare them), and the absolute paths in
 * records and kernelspecs (never in a prefix) rewritten to the copy's.
 */
function copyRoot(dest: string): void {
  execFileSync('cp', ['-a', template, dest]); // nanosecond times kept (cpSync rounds them)
  const rewrite = (p: string) => {
    const text = readFileSync(p, 'utf8');
    if (text.includes(template)) writeFileSync(p, text.split(template).join(dest));
  };
  const builds = installationLayout(dest, VERSION).builds;
  for (const env of readdirSync(builds))
    for (const f of readdirSync(join(builds, env))) if (f.endsWith('.json')) rewrite(join(builds, env, f));
  // kernelspec directories (the launcher beside them, .conda-gitops-launch, names no path)
  for (const k of readdirSync(layout(dest).kernels))
    if (!k.startsWith('.')) rewrite(join(layout(dest).kernels, k, 'kernel.json'));
}

const idOf = (name: string) => desired.envs.find((e) => e.name === name)!.buildId;

beforeAll(async () => {
  template = tempDir('gitops-corrupt-');
  repo = tempDir('gitops-corrupt-repo-');
  scratch.push(template, repo);
  makeInstallation({ root: template });
  const deploy = async (...args: string[]) => {
    const r = await runCli(['deploy', '--root', template, ...args], { cwd: repo });
    expect(r.code, r.stderr).toBe(0);
  };
  const kernels = { a: 'Python (a)' };
  addTestedBuilds(template, await writeRepo(repo, { envs: { a: 1, b: 1 }, kernels }));
  await deploy();
  desired = await writeRepo(repo, { envs: { a: 2, b: 1 }, kernels });
  addTestedBuilds(template, desired);
  await deploy(); // generation 2
  const back = await runCli(['rollback', '--root', template], { cwd: repo }); // back to 1, a's build marked bad
  expect(back.code, back.stderr).toBe(0);
  await deploy('--force'); // 3 (its parent 1), the mark cleared
  for (const e of desired.envs) {
    const prefix = buildPaths(template, VERSION, e.name, e.buildId).prefix;
    writeManifest(prefix, e.name, e.buildId); // as a qa run writes it when the build passes its tests
  }
  const links = { a: idOf('a'), b: idOf('b') };
  markInstallationBad(template, {
    installation: 'v22.11.1',
    at: new Date().toISOString(),
    reason: 'test',
    generation: 1,
    links,
  });
  clearInstallationMark(template, 'v22.11.1');
}, 240_000);

afterAll(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

type Variant = 'truncated' | 'garbage' | 'wrong schema';

interface Kind {
  kind: string;
  /** the file, in a ROOT at `root` */
  file: (root: string) => string;
  /** the valid content a truncation cuts short, for a file the template does not have */
  valid?: (root: string) => string;
  /** every command that reads the file: each must refuse */
  commands: string[][];
  journal?: boolean;
}

const holder = () =>
  JSON.stringify({
    pid: 1,
    host: 'elsewhere',
    user: 'u',
    command: 'conda-gitops deploy',
    since: new Date().toISOString(),
  });
const marker = (root: string) =>
  JSON.stringify({
    version: VERSION,
    dir: join(root, inst),
    pid: 1,
    host: 'h',
    since: '2024-01-01T00:00:00Z',
    installer: '/x.sh',
  });

const KINDS: Kind[] = [
  {
    kind: 'build record',
    file: (r) => buildPaths(r, VERSION, 'b', idOf('b')).record,
    commands: [['status'], ['deploy', '--dry-run'], ['deploy'], ['plan'], ['rollback']],
  },
  {
    kind: 'verdict',
    file: (r) => verdictPath(r, VERSION, 'a', idOf('a'), desired.envs.find((e) => e.name === 'a')!.verdictKey),
    commands: [['status'], ['deploy', '--dry-run'], ['deploy'], ['plan']],
  },
  {
    kind: 'build manifest',
    file: (r) => manifestPathOf(buildPaths(r, VERSION, 'a', idOf('a')).prefix),
    commands: [['status'], ['status', '--verify']],
  },
  {
    kind: 'live generation manifest',
    file: (r) => join(r, inst, 'generations', '3', '.generation.json'),
    commands: [['status'], ['deploy', '--dry-run'], ['deploy'], ['rollback'], ['gc'], ['kernels']],
  },
  {
    kind: 'previous generation manifest',
    file: (r) => join(r, inst, 'generations', '1', '.generation.json'),
    // the live generation's parent: rollback's target, and where status, deploy and kernels look for the
    // installation serving envs a conda upgrade left out
    commands: [['rollback'], ['gc'], ['status'], ['deploy', '--dry-run'], ['kernels']],
  },
  {
    kind: 'history',
    file: (r) => layout(r).history,
    commands: [['history'], ['status']],
    journal: true,
  },
  {
    kind: 'rollback marks',
    file: (r) => installationLayout(r, VERSION).marks,
    commands: [['status'], ['deploy', '--dry-run'], ['deploy'], ['rollback']],
    journal: true,
  },
  {
    kind: 'installation marks',
    file: (r) => layout(r).installationMarks,
    commands: [['status'], ['deploy', '--dry-run'], ['deploy'], ['rollback']],
    journal: true,
  },
  {
    kind: 'installing marker',
    file: (r) => join(layout(r).gitops, 'installing', `${inst}.json`),
    valid: marker,
    commands: [['install-conda']],
  },
  {
    kind: 'lock holder',
    file: (r) => join(layout(r).lock, 'holder.json'),
    valid: holder,
    commands: [['deploy'], ['rollback'], ['kernels'], ['install-conda']],
  },
  {
    kind: 'kernelspec',
    file: (r) => join(layout(r).kernels, 'a', 'kernel.json'),
    commands: [['status'], ['deploy', '--dry-run'], ['deploy'], ['kernels']],
  },
];

const GARBAGE = '\u0000\u00ff}{ not json at all ]]\n';
const WRONG = JSON.stringify({ format: 1, hello: 'world' });

/** Corrupt `file` the way `variant` says (a journal: its first line, or its last line cut short). */
function corrupt(k: Kind, root: string, variant: Variant): string {
  const file = k.file(root);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text = k.valid!(root);
    mkdirSync(join(file, '..'), { recursive: true });
  }
  if (k.journal) {
    if (variant === 'truncated') writeFileSync(file, text.slice(0, text.trimEnd().length - 10));
    else writeFileSync(file, `${variant === 'garbage' ? GARBAGE.trim() : WRONG}\n${text}`);
  } else if (variant === 'truncated') writeFileSync(file, text.slice(0, text.length >> 1));
  else writeFileSync(file, variant === 'garbage' ? GARBAGE : WRONG + '\n');
  // a lock is fresh (not stale): it is held, by someone the holder file cannot name
  if (k.kind === 'lock holder') utimesSync(join(file, '..'), new Date(), new Date());
  return file;
}

function expectNoBug(r: CliResult, what: string): void {
  expect(r.code, `${what}: ${r.stderr}`).not.toBe(70);
  expect(r.stderr, what).not.toMatch(/internal error|this is a bug|\n\s+at /);
}

describe('the intact ROOT: the control of the table below', () => {
  it('status, deploy, history, gc and kernels exit 0 and change nothing', async () => {
    const root = tempDir('gitops-corrupt-case-');
    scratch.push(root);
    rmSync(root, { recursive: true });
    copyRoot(root);
    const before = treeHash(root, '');
    for (const args of [
      ['status', '--verify'],
      ['deploy', '--dry-run'],
      ['deploy'],
      ['history'],
      ['gc'],
      ['kernels'],
    ]) {
      const r = await runCli([...args, '--root', root], { cwd: repo });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    expect(treeHash(root, '')).toBe(before);
  });
});

/**
 * Every command that reads a kind of file, each with one of the corruptions in turn (every corruption of every kind
 * is met by some command; they all go through the same checked reader). A journal's last line cut short is read
 * by the read-only commands: skipped and reported.
 */
const CASES = KINDS.flatMap((k) => {
  const variants: Variant[] = k.journal ? ['garbage', 'wrong schema'] : ['truncated', 'garbage', 'wrong schema'];
  const n = Math.max(k.commands.length, variants.length);
  const cases = Array.from({ length: n }, (_, i) => ({
    k,
    variant: variants[i % variants.length]!,
    args: k.commands[i % k.commands.length]!,
  }));
  if (k.journal)
    for (const args of k.commands.filter((c) => c[0] === 'status' || c[0] === 'history'))
      cases.push({ k, variant: 'truncated', args });
  return cases.map((c) => ({ ...c, name: `${k.kind}, ${c.variant}: ${c.args.join(' ')}` }));
});

describe.concurrent('a corrupt state file is named with its remedy; nothing else changes', () => {
  it.each(CASES)('$name', async ({ k, variant, args }) => {
    const root = tempDir('gitops-corrupt-case-');
    scratch.push(root);
    rmSync(root, { recursive: true });
    copyRoot(root);
    const file = corrupt(k, root, variant);
    const before = treeHash(root, file);
    const what = `${args.join(' ')} (${k.kind}, ${variant})`;
    const r = await runCli([...args, '--root', root], { cwd: repo });
    expectNoBug(r, what);
    if (k.journal && variant === 'truncated') {
      // a write a crash cut short: skipped and reported, the command goes on
      expect(r.code, `${what}: ${r.stderr}`).toBe(0);
      expect(r.stderr, what).toMatch(/skipped .*(torn|unreadable)/);
      expect(r.stderr, what).toContain(file);
    } else {
      expect(r.code, `${what}: ${r.stderr}`).toBe(1);
      expect(r.stderr, what).toContain(file);
      expect(r.stderr, what).toMatch(/to go on: \S/i);
    }
    expect(treeHash(root, file), `${what} changed something under ROOT`).toBe(before);
    rmSync(root, { recursive: true, force: true });
  });
});
