/**
 * Integrity of live builds: a PR's test (or anyone) changing a file inside a live build is
 * drift that `status` names by env and path, against the manifest written when the build was tested; `--verify`
 * hashes every file and catches a change that kept size and mtime; without a manifest, conda's paths_data.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { appendFileSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Context } from '../../scripts/app/context.js';
import { memoryOutput } from '../../scripts/cli/output.js';
import { runCommand } from '../fixtures/command.js';
import { makeQaWorld, worldSpec, writeRepo, type QaWorld } from '../fixtures/qa-world.js';

interface StatusJson {
  ok: boolean;
  drift: boolean;
  envs: Array<{ name: string; integrity?: { source: string; changed: string[]; added: string[]; removed: string[] } }>;
}

function find(dir: string, tail: string): string | undefined {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const hit = find(p, tail);
      if (hit) return hit;
    } else if (p.endsWith(tail)) return p;
  }
  return undefined;
}

describe('status verifies live builds against what was tested', () => {
  let world: QaWorld;
  let repo: string;
  let prefix: string;
  let module: string;
  const run = async (name: string, options: Context['options'] = {}) => {
    const out = memoryOutput(true);
    const code = await runCommand(name, {
      options: { root: world.root, json: true, ...options },
      positionals: [],
      out,
      repo,
      env: { ...process.env },
    });
    return { code, out, result: out.results[0] as StatusJson };
  };

  beforeAll(async () => {
    world = makeQaWorld();
    repo = writeRepo(
      join(world.base, 'repo'),
      { envs: { hlink: 'REPLICATE', geo: 'REPLICATE' }, channels: [world.channel] },
      {
        hlink: worldSpec(world, 'hlink', ['python', 'numpy']),
        geo: worldSpec(world, 'geo', ['python', 'requests']),
      },
    );
    expect((await run('qa')).code).toBe(0);
    expect((await run('deploy')).code).toBe(0);
    const builds = join(world.root, 'v23.11.0', 'builds', 'hlink');
    const id = readdirSync(builds).find((n) => /^[0-9a-f]+$/.test(n))!;
    prefix = join(builds, id);
    module = find(prefix, 'site-packages/numpy/__init__.py')!;
    expect(module).toBeDefined();
  }, 240_000);
  afterAll(() => world?.cleanup());

  test('in sync right after deploy', async () => {
    const r = await run('status');
    expect(r.code, r.out.errors.join('\n')).toBe(0);
    expect(r.result.drift).toBe(false);
  }, 60_000);

  test('a line appended to a module of a live build is drift naming env and file; restoring it is not', async () => {
    const before = readFileSync(module);
    const st = statSync(module);
    appendFileSync(module, 'import os; os.system("id")\n');
    try {
      const r = await run('status');
      expect(r.code).toBe(1);
      const hlink = r.result.envs.find((e) => e.name === 'hlink')!;
      expect(hlink.integrity).toMatchObject({ source: 'manifest', changed: [relative(prefix, module)] });
      expect(r.result.envs.find((e) => e.name === 'geo')!.integrity).toBeUndefined();
      expect(r.out.errors.join('\n')).toContain(
        `hlink: 1 file(s) changed since it was tested: ${relative(prefix, module)}`,
      );
    } finally {
      writeFileSync(module, before);
      utimesSync(module, st.atime, st.mtime);
    }
    const after = await run('status');
    expect(after.code, after.out.errors.join('\n')).toBe(0);
  }, 60_000);

  test('an added and a removed file are drift too', async () => {
    const extra = join(prefix, 'bin', 'evil');
    writeFileSync(extra, '#!/bin/sh\n');
    const meta = find(prefix, 'numpy-1.26.4.dist-info/INSTALLER')!;
    const saved = readFileSync(meta);
    const st = statSync(meta);
    rmSync(meta);
    try {
      const r = await run('status');
      expect(r.code).toBe(1);
      const d = r.result.envs.find((e) => e.name === 'hlink')!.integrity!;
      expect(d.added).toEqual(['bin/evil']);
      expect(d.removed).toEqual([relative(prefix, meta)]);
    } finally {
      rmSync(extra);
      writeFileSync(meta, saved);
      utimesSync(meta, st.atime, st.mtime);
    }
  }, 60_000);

  test('--verify catches a change that kept size and mtime; the fast mode cannot', async () => {
    const before = readFileSync(module);
    const st = statSync(module);
    const tampered = Buffer.from(before);
    tampered[0] = tampered[0] === 0x23 ? 0x24 : 0x23; // same size, other content
    writeFileSync(module, tampered);
    utimesSync(module, st.atime, st.mtime);
    try {
      const fast = await run('status');
      expect(fast.code, fast.out.errors.join('\n')).toBe(0);
      const r = await run('status', { verify: true });
      expect(r.code).toBe(1);
      expect(r.result.envs.find((e) => e.name === 'hlink')!.integrity).toMatchObject({
        mode: 'full',
        changed: [relative(prefix, module)],
      });
    } finally {
      writeFileSync(module, before);
      utimesSync(module, st.atime, st.mtime);
    }
  }, 60_000);

  test("without a manifest, conda's paths_data (sha256, size_in_bytes) is the reference", async () => {
    const manifest = `${prefix}.manifest.json`;
    const saved = readFileSync(manifest);
    rmSync(manifest);
    const before = readFileSync(module);
    const st = statSync(module);
    try {
      const rec = JSON.parse(
        readFileSync(
          join(
            prefix,
            'conda-meta',
            readdirSync(join(prefix, 'conda-meta')).find((n) => n.startsWith('numpy-'))!,
          ),
          'utf8',
        ),
      ) as { paths_data: { paths: Array<{ _path: string; sha256?: string; size_in_bytes?: number }> } };
      const entry = rec.paths_data.paths.find((p) => p._path === relative(prefix, module))!;
      expect(entry.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(entry.size_in_bytes).toBe(before.length);
      appendFileSync(module, '# x\n');
      const r = await run('status');
      expect(r.code).toBe(1);
      expect(r.result.envs.find((e) => e.name === 'hlink')!.integrity).toMatchObject({
        source: 'conda-meta',
        changed: [relative(prefix, module)],
      });
    } finally {
      writeFileSync(module, before);
      utimesSync(module, st.atime, st.mtime);
      writeFileSync(manifest, saved);
    }
  }, 60_000);

  test('a file edited in place (no conda history): status says deploy --repair, which rebuilds, swaps', async () => {
    appendFileSync(module, 'import os; os.system("id")\n');
    const r = await run('status');
    expect(r.code).toBe(1);
    expect(r.out.errors.join('\n')).toMatch(/To repair: conda-gitops deploy --repair hlink/);
    const repair = await run('deploy', { repair: 'hlink' });
    expect(repair.code, repair.out.errors.join('\n')).toBe(0);
    expect(repair.out.errors.join('\n')).toMatch(/repair hlink: changed by hand/);
    const after = await run('status', { verify: true });
    expect(after.code, after.out.errors.join('\n')).toBe(0);
  }, 240_000);
});
