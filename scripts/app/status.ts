/**
 * The status use case: the live generation against the repository, per env and per kernelspec (docs/admin.md).
 * `ok` is false on drift, so CI can gate on the exit code.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Output } from './output.js';
import { loadRepo, resolveRoot } from '../repo/repo.js';
import { desiredState } from '../core/desired.js';
import { adoptedCurrent, servingInstallations, readLive } from '../state/generation.js';
import { installationMarkOf, installationMarksWarnings } from '../state/installation-marks.js';
import { marksWarnings } from '../state/marks.js';
import { historySkippedWarning, readHistory, readHistoryStamp } from '../state/history.js';
import { installationName } from '../core/layout.js';
import { envPlanFromDisk, kernelFilesOnDisk } from './deploy.js';
import { shippedKernelSpecs } from '../state/kernel.js';
import { readBuildRecord } from '../state/record.js';
import { computeStatus, renderStatus, repairCommands, type StatusReport } from '../core/status.js';
import type { StampedBuildRecord } from '../core/types.js';
import { describeDrift, isDrift } from '../core/integrity.js';
import { verifyPrefix } from '../state/manifest.js';
import { warnRunnerRcFiles } from './runner-rc.js';
import { OK, drift, type Outcome } from '../core/outcome.js';

export interface StatusOptions {
  repoDir: string;
  /** --root DIR (else $CONDA_GITOPS_ROOT, else the repository's [conda] root) */
  rootFlag?: string;
  env: Record<string, string | undefined>;
  /** --verify: sha256 of every file of every live build, not just size and mtime */
  verify?: boolean;
  out: Output;
}

export interface StatusResult extends StatusReport {
  /** false on drift */
  ok: boolean;
  /** drift when what is live differs from the repository or was changed by hand */
  outcome: Outcome;
  root: string;
  /** the commands that repair the drift (status prints them as `To repair: …`); empty in sync */
  repair: string[];
  /** rc files of the runner user that builds read (conda < 24.9): warned about, not drift */
  rcFiles: string[];
}

export async function liveStatus(opts: StatusOptions): Promise<StatusResult> {
  const { out } = opts;
  const repo = await loadRepo(opts.repoDir);
  for (const w of repo.warnings) out.warn(`${w.file}:${w.line}: warning: ${w.message}`);
  const root = resolveRoot({ options: { root: opts.rootFlag }, env: opts.env }, repo.inventory);
  const desired = desiredState(repo);
  const rcFiles = warnRunnerRcFiles(root, repo.inventory, out);
  const live = readLive(root);
  // build ids differ between installations, so look in the desired one and in the live one
  const versions = [...new Set([desired.condaVersion, ...(live.ref ? [live.ref.installation.replace(/^v/, '')] : [])])];
  const lookup = (env: string, id: string): StampedBuildRecord | undefined => {
    for (const v of versions) {
      const rec = readBuildRecord(root, v, env, id);
      if (rec) return rec;
    }
    return undefined;
  };
  for (const w of marksWarnings(root, versions)) out.warn(w);
  const kernelFiles = kernelFilesOnDisk(root);
  // the live links come from `current`: a conda upgrade not deployed yet makes every env `different`
  const envPlan = envPlanFromDisk(root, desired, live.links);
  const history = readHistory(root);
  const lastCutover = history.entries.at(-1);
  const historyWarning = historySkippedWarning(root, history.skipped);
  if (historyWarning) out.warn(historyWarning);
  for (const w of installationMarksWarnings(root)) out.warn(w);
  const installationMark = installationMarkOf(root, installationName(desired.condaVersion));
  const adopted = live.ref ? undefined : adoptedCurrent(root);
  const current = live.ref?.installation ?? adopted;
  // where envs not live in current are served: from current, and from the installation the repository wants
  const serving = servingInstallations(root, [...(current ? [current] : []), installationName(desired.condaVersion)]);
  const report = computeStatus({
    root,
    desired,
    installation: installationName(desired.condaVersion),
    live,
    lookup,
    envPlan,
    stampOf: (env, id) => readHistoryStamp(join(root, live.ref!.installation, 'builds', env, id)),
    kernelFiles,
    ...(lastCutover ? { lastCutover } : {}),
    ...(installationMark ? { installationMark } : {}),
    serving,
    pythonExists: (path) => existsSync(path),
    shippedOf: shippedKernelSpecs,
    ...(adopted ? { adopted } : {}),
  });
  // integrity: every live build's files against what was tested (or what conda linked)
  for (const s of report.envs) {
    if (!s.live || !live.ref) continue;
    const prefix = join(root, live.ref.installation, 'builds', s.name, s.live);
    const d = verifyPrefix(prefix, opts.verify === true);
    if (!d || !isDrift(d)) continue;
    s.integrity = d;
    s.message += `; files changed since ${d.source === 'manifest' ? 'tested' : 'linked'} (see below)`;
    // rebuilt from git beside it and swapped in (the hand-changed build is kept until gc, marked tainted)
    s.repair ??= `conda-gitops deploy --repair ${s.name}`;
  }
  report.counts.tampered = report.envs.filter((e) => e.integrity).length;
  if (report.counts.tampered) report.drift = true;
  const lines = renderStatus(report);
  const repair = report.drift ? repairCommands(report) : [];
  // the per-file drift goes under the summary line, the commands that repair it last
  for (const line of lines.slice(0, lines.length - repair.length)) out.info(line);
  for (const s of report.envs) if (s.integrity) for (const l of describeDrift(s.name, s.integrity)) out.info(l);
  for (const line of lines.slice(lines.length - repair.length)) out.info(line);
  return { ok: !report.drift, outcome: report.drift ? drift() : OK, root, ...report, repair, rcFiles };
}
