/** Paths of the installation on disk (docs/deploy.md). Pure: string arithmetic only. */
import { join } from 'node:path';

export const GITOPS_DIR = '.gitops';

/** In `ROOT/vX/`: written when conda-gitops first builds or deploys into an installation (gc's proof it owns it). */
export const INSTALLATION_MARKER = '.conda-gitops-installation';

/** Directory name of the installation of a conda version: `v23.11.0`. */
export function installationName(condaVersion: string): string {
  return `v${condaVersion}`;
}

export interface Layout {
  root: string;
  current: string;
  qa: string;
  envs: string;
  kernels: string;
  gitops: string;
  lock: string;
  history: string;
  /** installation rollbacks: an append-only journal (installation-marks schema) */
  installationMarks: string;
  runs: string;
}

export function layout(root: string): Layout {
  const gitops = join(root, GITOPS_DIR);
  return {
    root,
    current: join(root, 'current'),
    qa: join(root, 'qa'),
    envs: join(root, 'envs'),
    kernels: join(root, 'kernels'),
    gitops,
    lock: join(gitops, 'lock'),
    history: join(gitops, 'history.jsonl'),
    installationMarks: join(gitops, 'installation-marks.jsonl'),
    runs: join(gitops, 'runs'),
  };
}

export interface InstallationLayout {
  dir: string;
  condaExe: string;
  envs: string;
  generations: string;
  builds: string;
  /** rollback marks of its builds: an append-only journal (marks schema) */
  marks: string;
}

/** `ROOT/vX`: one conda installation (its base env) and its builds and generations. */
export function installationLayout(root: string, condaVersion: string): InstallationLayout {
  const dir = join(root, installationName(condaVersion));
  return {
    dir,
    condaExe: join(dir, 'bin', 'conda'),
    envs: join(dir, 'envs'),
    generations: join(dir, 'generations'),
    builds: join(dir, 'builds'),
    marks: join(dir, 'marks.jsonl'),
  };
}

/** A build's prefix and record. The prefix is a real path: conda writes it into scripts, so it must never move. */
export function buildPaths(root: string, condaVersion: string, env: string, buildId: string) {
  const builds = installationLayout(root, condaVersion).builds;
  return {
    prefix: join(builds, env, buildId),
    record: join(builds, env, `${buildId}.json`),
    log: join(builds, env, `${buildId}.log`),
    /** verdicts on this build, one file per verdict key (core/verdict.ts) */
    verdicts: join(builds, env, `${buildId}.verdicts`),
    /** a rollback's mark as an earlier release wrote it (build-mark schema); today's go to vX/marks.jsonl */
    mark: join(builds, env, `${buildId}.bad.json`),
  };
}
