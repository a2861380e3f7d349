/** Where the fake installation lives, which conda version it plays, and the fault-injection hooks. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** Written by the installer to ROOT/.fake-conda/config.json. */
export interface FakeConfig {
  /** the conda version this installation imitates, e.g. "4.3.22" */
  version: string;
  /** absolute path of the node that runs conda.js (PATH may lack node at run time) */
  node: string;
  /** absolute path of the real host python (envs' bin/python links to it) */
  python: string;
  /** "3.11.7" */
  pythonVersion: string;
  /** the conda-gitops checkout whose node_modules provide rattler and js-yaml */
  repo: string;
  /**
   * the runner user's home for `~/.condarc`, `~/.config/conda/…` and `~/.conda/environments.txt`
   * (installer env FAKE_CONDA_HOME); unset: `$HOME` at run time, as real conda does
   */
  home?: string;
  /** stands for `/etc` in conda's rc search path (installer env FAKE_CONDA_SYSCONFDIR); unset: none is read */
  sysconfdir?: string;
  /** the frontend installed beside (mamba, Miniforge-like) or instead of (micromamba) conda: see mamba.ts */
  frontend?: 'conda' | 'mamba' | 'micromamba';
  /** mamba's or micromamba's own version ("1.5.8", "2.0.5") */
  mambaVersion?: string;
}

export interface Ctx {
  root: string;
  config: FakeConfig;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** set when this process plays `mamba` or `micromamba` rather than `conda` (mamba.ts) */
  frontend?: 'mamba' | 'micromamba';
  out(text: string): void;
  err(text: string): void;
}

/** Directory for fake-only state inside the root (config, env registry). */
export const fakeDir = (root: string): string => join(root, '.fake-conda');

export function loadContext(): Ctx {
  const root = process.env.FAKE_CONDA_ROOT;
  if (!root) throw new Error('FAKE_CONDA_ROOT is not set: run conda through ROOT/bin/conda, written by installer.sh');
  const config = JSON.parse(readFileSync(join(fakeDir(root), 'config.json'), 'utf8')) as FakeConfig;
  return {
    root,
    config,
    env: process.env,
    cwd: process.cwd(),
    // stdout/stderr writes to pipes and files are synchronous on Linux, so nothing is lost on SIGKILL
    out: (t) => {
      process.stdout.write(t);
    },
    err: (t) => {
      process.stderr.write(t);
    },
  };
}

/** The user's home as conda expands `~`: the installation's recorded one (hermetic tests), else $HOME. */
export const userHome = (ctx: Ctx): string => ctx.config.home || ctx.env.HOME || '/';

/** require() from the repository's node_modules (the installed fake runs from a copy outside the repo). */
export const repoRequire = (ctx: Ctx): NodeJS.Require => createRequire(join(ctx.config.repo, 'package.json'));

/** js-yaml, loaded only by the commands that read YAML files. */
export const yaml = (ctx: Ctx): typeof import('js-yaml') => repoRequire(ctx)('js-yaml');

/** Compare dotted versions numerically: "4.3.22" < "4.3.31" < "23.11.0". */
export function cmpVersion(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

/** True when the fake plays conda >= v. */
export const atLeast = (ctx: Ctx, v: string): boolean => cmpVersion(ctx.config.version, v) >= 0;

/** FAKE_CONDA_DELAY_MS: block (sleep, no CPU) at the start of every command, to model a slow conda. */
export function injectDelay(env: NodeJS.ProcessEnv): void {
  const ms = Number(env.FAKE_CONDA_DELAY_MS ?? 0);
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Named steps of a transaction where FAKE_CONDA_CRASH_AT can kill the process. */
export const CRASH_STEPS = [
  'after-solve',
  'after-mkdir',
  'after-python',
  'mid-packages',
  'after-packages',
  'before-pip',
  'after-pip',
] as const;
export type CrashStep = (typeof CRASH_STEPS)[number];

/** FAKE_CONDA_CRASH_AT=<step>: die like `kill -9` there, leaving whatever is half-built. */
export function crashPoint(ctx: Ctx, step: CrashStep): void {
  if (ctx.env.FAKE_CONDA_CRASH_AT === step) process.kill(process.pid, 'SIGKILL');
}

/** True when this process is micromamba or mamba 2.x (libmamba's C++ CLI), false for conda and mamba 1.x. */
export const libmambaCli = (ctx: Ctx): boolean =>
  ctx.frontend === 'micromamba' || (ctx.frontend === 'mamba' && cmpVersion(ctx.config.mambaVersion ?? '2', '2') >= 0);
