/**
 * Benchmark of the generation swap: the temporary link + rename(2) for installations of 10, 100 and
 * 1,000 envs (target: median <= 1 ms each, 1,000/10 ratio <= 1.5), the same with the directory fsync deploy adds,
 * and concurrent readers during 1,000 swaps by rename vs by unlink + symlink (the failure rate is why we rename).
 * A plain node script run from dist/ by `npm run bench`; exits 1 when a target is missed.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { replaceSymlink, swapEnvs, writeGeneration, ensureRootLinks } from '../../scripts/state/generation.js';
import { makeInstallation } from '../fixtures/installation.js';

const SIZES = [10, 100, 1000];
const ROUNDS = 1000;
const TARGET_MEDIAN_MS = 1;
const TARGET_RATIO = 1.5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * One installation holding a pair of generations per size (10, 100 and 1,000 envs, every env a real prefix
 * with bin/python). All swaps happen in the same `vX/` directory, so the only thing that differs between the
 * sizes is the number of envs in the generations swapped (separate installations would also compare how
 * crowded each one's spot on the filesystem is, which is not what this measures).
 */
function installation() {
  const fi = makeInstallation();
  const pairs = new Map<number, [number, number]>();
  let g = 0;
  for (const n of SIZES) {
    pairs.set(n, [g + 1, g + 2]);
    for (let k = 0; k < 2; k++) {
      g++;
      const envs = Object.fromEntries(
        Array.from({ length: n }, (_, i) => [`env${i}`, `${String(g).padStart(2, '0')}${String(i).padStart(10, '0')}`]),
      );
      for (const [env, id] of Object.entries(envs)) {
        const bin = join(fi.inst.builds, env, id, 'bin');
        mkdirSync(bin, { recursive: true });
        writeFileSync(join(bin, 'python'), '#!/bin/sh\n');
        chmodSync(join(bin, 'python'), 0o755);
      }
      writeGeneration(fi.inst.dir, { format: 1, n: g, createdAt: new Date().toISOString(), reason: 'bench', envs });
    }
  }
  swapEnvs(fi.inst.dir, 1);
  ensureRootLinks(fi.root, fi.version);
  return { fi, pairs };
}

const READER = `
import { statSync, existsSync } from 'node:fs';
const [path, stop] = process.argv.slice(2);
let ok = 0, fail = 0, ready = false;
while (!existsSync(stop)) {
  for (let i = 0; i < 50; i++) { try { statSync(path); ok++; } catch { fail++; } }
  if (!ready) { ready = true; process.stdout.write('ready\\n'); }
}
process.stdout.write(JSON.stringify({ ok, fail }) + '\\n');
`;

/** 4 reader processes stat ROOT/envs/env0/bin/python in a loop while `swap` runs 1,000 times. */
async function readersDuring(
  root: string,
  swap: (i: number) => void,
): Promise<{ reads: number; failed: number; swapMs: number }> {
  const script = join(root, 'reader.mjs');
  writeFileSync(script, READER);
  const stop = join(root, `stop-${process.hrtime.bigint()}`);
  const target = join(root, 'envs', 'env0', 'bin', 'python');
  const kids = Array.from({ length: 4 }, () =>
    spawn(process.execPath, [script, target, stop], { stdio: ['ignore', 'pipe', 'inherit'] }),
  );
  const texts = kids.map(() => ({ t: '' }));
  await Promise.all(
    kids.map(
      (k, i) =>
        new Promise<void>((res) =>
          k.stdout!.on('data', (b: Buffer) => {
            texts[i].t += b;
            if (texts[i].t.includes('ready')) res();
          }),
        ),
    ),
  );
  const t0 = performance.now();
  for (let i = 0; i < 1000; i++) swap(i);
  const swapMs = performance.now() - t0;
  writeFileSync(stop, '');
  await Promise.all(kids.map((k) => new Promise((res) => k.on('close', res))));
  const results = texts.map((x) => JSON.parse(x.t.split('\n').filter(Boolean).at(-1)!) as { ok: number; fail: number });
  return {
    reads: results.reduce((s, r) => s + r.ok + r.fail, 0),
    failed: results.reduce((s, r) => s + r.fail, 0),
    swapMs,
  };
}

async function main(): Promise<number> {
  const { fi, pairs } = installation();
  const envs = join(fi.inst.dir, 'envs');
  const times = new Map<number, number[]>(SIZES.map((n) => [n, []]));
  const durable = new Map<number, number[]>(SIZES.map((n) => [n, []]));
  // every round visits the sizes in a fresh random order, so background load hits them alike
  for (let r = 0; r < ROUNDS; r++) {
    for (const n of [...SIZES].sort(() => Math.random() - 0.5)) {
      const [a, b] = pairs.get(n)!;
      let t0 = performance.now();
      replaceSymlink(envs, `generations/${a}`, 'swap', { durable: false });
      times.get(n)!.push(performance.now() - t0);
      t0 = performance.now();
      swapEnvs(fi.inst.dir, b);
      durable.get(n)!.push(performance.now() - t0);
    }
  }
  let ok = true;
  console.log(
    `swap = temporary symlink + rename(2) of vX/envs, median of ${ROUNDS} ` +
      `(target <= ${TARGET_MEDIAN_MS} ms, 1000/10 <= ${TARGET_RATIO})`,
  );
  for (const n of SIZES) {
    const m = median(times.get(n)!);
    ok &&= m <= TARGET_MEDIAN_MS;
    console.log(
      `  ${String(n).padStart(5)} envs: swap ${m.toFixed(3)} ms   ` +
        `with the dir fsync deploy does: ${median(durable.get(n)!).toFixed(3)} ms`,
    );
  }
  const ratio = median(times.get(1000)!) / median(times.get(10)!);
  ok &&= ratio <= TARGET_RATIO;
  console.log(
    `  ratio 1000/10: ${ratio.toFixed(2)} ` +
      `(fsync'd: ${(median(durable.get(1000)!) / median(durable.get(10)!)).toFixed(2)})`,
  );

  const [a, b] = pairs.get(100)!;
  swapEnvs(fi.inst.dir, a);
  const byRename = await readersDuring(fi.root, (i) =>
    replaceSymlink(envs, `generations/${i % 2 ? a : b}`, 'swap', { durable: false }),
  );
  const byUnlink = await readersDuring(fi.root, (i) => {
    unlinkSync(envs);
    symlinkSync(`generations/${i % 2 ? a : b}`, envs);
  });
  const pct = (r: { reads: number; failed: number }) => ((100 * r.failed) / Math.max(1, r.reads)).toFixed(2);
  console.log('4 readers resolving ROOT/envs/env0/bin/python during 1,000 swaps:');
  console.log(
    `  rename(2):        ${byRename.failed} of ${byRename.reads} reads failed (${pct(byRename)}%)  ` +
      `${(byRename.swapMs / 1000).toFixed(3)} ms/swap`,
  );
  console.log(
    `  unlink + symlink: ${byUnlink.failed} of ${byUnlink.reads} reads failed (${pct(byUnlink)}%)  ` +
      `${(byUnlink.swapMs / 1000).toFixed(3)} ms/swap`,
  );
  ok &&= byRename.failed === 0;
  rmSync(fi.root, { recursive: true, force: true });
  console.log(ok ? 'swap: all targets met' : 'swap: TARGET MISSED');
  return ok ? 0 : 1;
}

process.exitCode = await main();
