/**
 * Benchmark of a whole deploy of 1,000 already-tested envs (lock, read records, write the generation, swap,
 * kernels, history) and of a rollback (the target: both <= 1 s). Each state change touches all 1,000 envs,
 * the worst case: every build record is read, every link is new, and a rollback marks 1,000 builds bad.
 * Also prints the wall time of the real CLI (`node dist/scripts/cli/main.js deploy`, which adds node startup and
 * reading + validating the 1,000 specs of the repository) for information.
 * A plain node script run from dist/ by `npm run bench`; exits 1 when a target is missed.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withLock } from '../../scripts/state/lock.js';
import { applyDeploy, planFromDisk } from '../../scripts/app/deploy.js';
import { applyRollback } from '../../scripts/app/rollback.js';
import { readLive } from '../../scripts/state/generation.js';
import type { DesiredInput } from '../../scripts/core/deploy.js';
import {
  addBuild,
  addTestedBuilds,
  addVerdict,
  desiredOf,
  makeInstallation,
  writeRepo,
} from '../fixtures/installation.js';

const N = 1000;
const ROUNDS = 5;
const TARGET_S = 1;
const cli = resolve(dirname(fileURLToPath(import.meta.url)), '../../scripts/cli/main.js');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Everything `deploy` does after reading the repository, timed from before taking the lock. */
async function timedDeploy(root: string, desired: DesiredInput, force: boolean): Promise<number> {
  const t0 = performance.now();
  await withLock(root, { waitSeconds: 0, command: 'bench deploy' }, async (lock) => {
    const plan = planFromDisk(root, desired, { force });
    if (plan.missing.length || !plan.changes)
      throw new Error(`bench: unexpected plan (${plan.missing.length} missing, changes ${plan.changes})`);
    applyDeploy(root, desired, plan, { command: 'deploy', env: process.env, assertHeld: () => lock.assertHeld() });
  });
  return (performance.now() - t0) / 1000;
}

async function timedRollback(root: string, to?: number): Promise<number> {
  const t0 = performance.now();
  await withLock(root, { waitSeconds: 0, command: 'bench rollback' }, async () => {
    applyRollback(root, { ...(to !== undefined ? { to } : {}), env: process.env, command: 'rollback' });
  });
  return (performance.now() - t0) / 1000;
}

const mapOf = (d: DesiredInput) => JSON.stringify(Object.fromEntries(d.envs.map((e) => [e.name, e.buildId])));

async function main(): Promise<number> {
  const fi = makeInstallation();
  const states = [0, 1].map((s) => {
    const links = Object.fromEntries(
      Array.from({ length: N }, (_, i) => [`env${String(i).padStart(4, '0')}`, `${s}${String(i).padStart(11, '0')}`]),
    );
    const kernels = Object.fromEntries(
      Object.keys(links)
        .slice(0, 20)
        .map((k) => [k, `Kernel ${k}`]),
    );
    const desired = desiredOf(links, kernels, fi.version);
    // as qa writes them: a built record and a passing verdict for the key (a kernel's key covers ipykernel)
    for (const e of desired.envs)
      addVerdict(fi.root, addBuild(fi.root, fi.version, e.name, e.buildId), e.verdictKey, true);
    return desired;
  });
  const first = await timedDeploy(fi.root, states[0], false);
  // deploys back and forth: every one relinks all 1,000 envs
  const deploys: number[] = [];
  for (let r = 0; r < ROUNDS; r++) deploys.push(await timedDeploy(fi.root, states[(r + 1) % 2], false));
  // rollbacks: back to the previous generation (1,000 builds marked bad), then forward again with --to
  const rollbacks: number[] = [];
  const forwards: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const before = readLive(fi.root);
    rollbacks.push(await timedRollback(fi.root));
    if (JSON.stringify(readLive(fi.root).links) === JSON.stringify(before.links))
      throw new Error('bench: rollback changed nothing');
    forwards.push(await timedRollback(fi.root, before.ref!.generation));
    if (JSON.stringify(readLive(fi.root).links) !== JSON.stringify(before.links))
      throw new Error('bench: rollback --to did not restore');
  }
  if (![0, 1].some((s) => mapOf(states[s]) === JSON.stringify(readLive(fi.root).links)))
    throw new Error('bench: unexpected live state');
  const d = median(deploys);
  const rb = median(rollbacks);
  console.log(
    `deploy of ${N} tested envs, all changed, 20 kernels (lock, records, generation, swap, kernels, history):`,
  );
  console.log(
    `  first deploy ${first.toFixed(3)} s; then ${ROUNDS} more, median ${d.toFixed(3)} s (target <= ${TARGET_S} s)`,
  );
  console.log(
    `rollback of the same (swap back, mark ${N} builds bad, history): ` +
      `median ${rb.toFixed(3)} s (target <= ${TARGET_S} s)`,
  );
  console.log(
    `rollback --to the newer one again (swap, clear ${N} marks, history): median ${median(forwards).toFixed(3)} s`,
  );

  // the real CLI on a real 1,000-spec repository, for information (includes node startup and spec validation)
  const repo = join(fi.root, 'repo');
  mkdirSync(repo);
  const desired = await writeRepo(repo, {
    envs: Object.fromEntries(Array.from({ length: N }, (_, i) => [`cli${String(i).padStart(4, '0')}`, i])),
  });
  addTestedBuilds(fi.root, desired);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, 'deploy', '--root', fi.root, '--repo', repo], { encoding: 'utf8' });
  const cliSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const r2 = spawnSync(process.execPath, [cli, 'rollback', '--root', fi.root], { encoding: 'utf8' });
  const cliRollback = (performance.now() - t1) / 1000;
  console.log(
    `CLI wall time (node start + 1,000 specs read and validated): ` +
      `deploy ${cliSeconds.toFixed(2)} s (exit ${r.status}), rollback ${cliRollback.toFixed(2)} s (exit ${r2.status})`,
  );
  rmSync(fi.root, { recursive: true, force: true });
  const ok = d <= TARGET_S && rb <= TARGET_S && r.status === 0 && r2.status === 0;
  console.log(ok ? 'deploy: all targets met' : 'deploy: TARGET MISSED');
  return ok ? 0 : 1;
}

process.exitCode = await main();
