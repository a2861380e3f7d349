/** Steps shared by create, env create and install: fetch the channels, solve, show the plan. */
import type { Channel, ChannelConfig } from './channels.js';
import { canonicalName } from './channels.js';
import { atLeast, crashPoint, type Ctx } from './context.js';
import { CondaError } from './errors.js';
import { distName, type PrefixRecord } from './prefix.js';
import type { Progress } from './progress.js';
import { loadIndex, type Index, type IndexedRecord } from './repodata.js';
import { solve, type SolveKind } from './solve.js';

export function fetchIndex(progress: Progress, kind: SolveKind, channels: Channel[]): Index {
  progress.collecting(kind, channels);
  try {
    const index = loadIndex(channels);
    progress.collected(true);
    return index;
  } catch (e) {
    progress.collected(false);
    throw e;
  }
}

export async function solveStep(
  ctx: Ctx,
  progress: Progress,
  kind: SolveKind,
  specs: string[],
  index: Index,
): Promise<IndexedRecord[]> {
  progress.solving();
  try {
    const records = await solve(ctx, { specs, index, kind });
    progress.solved(true);
    crashPoint(ctx, 'after-solve');
    return records;
  } catch (e) {
    progress.solved(false, e instanceof CondaError && e.className === 'UnsatisfiableError');
    throw e;
  }
}

/** `channel/subdir::name-version-build`, how the plan and --json actions name a package. */
export const planDist = (cfg: ChannelConfig, r: IndexedRecord): string =>
  `${canonicalName(r.channel.url, cfg)}/${r.subdir}::${distName(r)}`;

/** The "## Package Plan ##" block `conda create` / `conda install` print before linking. */
export function planText(
  ctx: Ctx,
  cfg: ChannelConfig,
  prefix: string,
  specs: string[],
  link: IndexedRecord[],
  unlink: PrefixRecord[],
): string {
  const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
  if (!atLeast(ctx, '4.4')) {
    const rows = [...link]
      .sort(byName)
      .map((r) => `    ${r.name}: ${r.version}-${r.build} ${canonicalName(r.channel.url, cfg)}`);
    return (
      `\nPackage plan for installation in environment ${prefix}:\n\n` +
      `The following NEW packages will be INSTALLED:\n\n${rows.join('\n')}\n\n`
    );
  }
  const linkNames = new Set(link.map((r) => r.name));
  const removed = unlink.filter((r) => !linkNames.has(r.name));
  const replaced = new Set(unlink.filter((r) => linkNames.has(r.name)).map((r) => r.name));
  const row = (r: IndexedRecord) => `  ${r.name.padEnd(18)} ${planDist(cfg, r)}`;
  let text = `\n## Package Plan ##\n\n  environment location: ${prefix}\n\n`;
  if (specs.length) text += `  added / updated specs:\n${specs.map((s) => `    - ${s}`).join('\n')}\n\n`;
  const fresh = link.filter((r) => !replaced.has(r.name)).sort(byName);
  const updated = link.filter((r) => replaced.has(r.name)).sort(byName);
  if (fresh.length) text += `\nThe following NEW packages will be INSTALLED:\n\n${fresh.map(row).join('\n')}\n\n`;
  if (updated.length) text += `\nThe following packages will be UPDATED:\n\n${updated.map(row).join('\n')}\n\n`;
  if (removed.length)
    text += `\nThe following packages will be REMOVED:\n\n${removed.map((r) => `  ${distName(r)}`).join('\n')}\n\n`;
  return text + '\n';
}

/** `--json` result of a create/install transaction. */
export function actionsJson(
  cfg: ChannelConfig,
  prefix: string,
  link: IndexedRecord[],
  unlink: PrefixRecord[],
): Record<string, unknown> {
  const rec = (
    r: { name: string; version: string; build: string; build_number: number; subdir: string },
    ch: string,
  ) => ({
    base_url: ch,
    build_number: r.build_number,
    build_string: r.build,
    channel: ch,
    dist_name: distName(r),
    name: r.name,
    platform: r.subdir,
    version: r.version,
  });
  return {
    actions: {
      LINK: link.map((r) => rec(r, canonicalName(r.channel.url, cfg))),
      UNLINK: unlink.map((r) => rec(r, r.channel)),
      PREFIX: prefix,
    },
    prefix,
    success: true,
  };
}
