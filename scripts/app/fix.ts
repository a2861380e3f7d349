/**
 * The `fix` use case: apply the remediation rules (docs/qa.md) to env specs in place, with the unified
 * diff. read (inventory + specs) -> facts (channels) -> remediate (pure) -> write or --check -> report.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InputError, UsageError, formatProblem, type Problem } from '../core/errors.js';
import { badInput, failedIf, type Outcome } from '../core/outcome.js';
import { decodeInput } from '../core/input.js';
import { parseInventory, replicatedEnvs } from '../core/inventory.js';
import { readRepoFile, resolveRoot } from '../repo/repo.js';
import { INVENTORY_FILE, SPECS_DIR } from '../core/repo.js';
import { parseSpec } from '../core/spec.js';
import { installationLayout } from '../core/layout.js';
import { Conda } from '../engine/conda.js';
import { writeFileAtomic } from '../state/fsutil.js';
import { ChannelIndex, readCondarc } from '../engine/channel-index.js';
import { effectiveChannels } from '../core/channel-index.js';
import { namesToLookUp, needsFix, remediate, type RemediationResult } from '../core/remediation.js';
import type { Output } from './output.js';
import { didYouMean } from '../core/suggest.js';

interface EnvFix {
  env: string;
  file: string;
  result: RemediationResult;
}

export interface FixOptions {
  repoDir: string;
  rootFlag?: string;
  /** --env: only these; empty = every REPLICATE env */
  envs: string[];
  /** --check: write nothing, exit 1 when a spec would change */
  check: boolean;
  acceptNearest: boolean;
  env: Record<string, string | undefined>;
  out: Output;
}

/** Exit code 2 for a spec that cannot be read, 1 under --check when a spec would change, else 0. */
export async function fixSpecs(opts: FixOptions): Promise<{ outcome: Outcome; result: Record<string, unknown> }> {
  const { check, acceptNearest, out } = opts;

  // read
  const invPath = join(opts.repoDir, INVENTORY_FILE);
  if (!existsSync(invPath)) throw new UsageError(`${INVENTORY_FILE} not found in ${opts.repoDir} (use --repo DIR)`);
  const invText = decodeInput(readRepoFile(opts.repoDir, INVENTORY_FILE)!, INVENTORY_FILE);
  if (invText.problem) throw new InputError([invText.problem]);
  const { inventory, problems: invProblems } = parseInventory(invText.text!, INVENTORY_FILE);
  if (!inventory) throw new InputError(invProblems);
  const wanted = opts.envs;
  const listed = new Set(inventory.environments.map((e) => e.name));
  for (const w of wanted)
    if (!listed.has(w))
      throw new UsageError(`'${w}' is not an environment in ${INVENTORY_FILE}${didYouMean(w, [...listed.keys()])}`);
  const envs = wanted.length ? wanted : replicatedEnvs(inventory).map((e) => e.name);

  // facts come from the installation the specs are built in: its conda and its .condarc
  const root = resolveRoot({ options: { root: opts.rootFlag }, env: opts.env }, inventory);
  const inst = installationLayout(root, inventory.conda.version);
  // without the installation's conda, local channels still answer; remote ones become "unknown"
  const conda = existsSync(join(inst.dir, 'bin', inventory.conda.frontend))
    ? Conda.forInstallation(inst.dir, inventory.conda.frontend, { timeoutSeconds: 300 })
    : undefined;
  const rc = readCondarc(existsSync(inst.dir) ? inst.dir : undefined, opts.env);
  const index = new ChannelIndex(conda);
  const legacyNoarch = inventory.legacyNoarch.map((l) => l.name);

  const fixes: EnvFix[] = [];
  const problems: Problem[] = [];
  for (const env of envs) {
    const file = `${SPECS_DIR}/${env}.yml`;
    const path = join(opts.repoDir, file);
    if (!existsSync(path)) {
      problems.push({ file, line: 1, severity: 'error', message: 'spec not found' });
      continue;
    }
    const decoded = decodeInput(readRepoFile(opts.repoDir, file)!, file);
    if (decoded.problem) {
      problems.push(decoded.problem);
      continue;
    }
    const text = decoded.text!;
    const parsed = parseSpec(text, file, env);
    if (!parsed.spec) {
      problems.push(...parsed.problems);
      continue;
    }
    const facts = await index.facts(effectiveChannels(parsed.spec.channels, rc), namesToLookUp(parsed.spec));
    const result = await remediate(text, file, env, facts, { acceptNearest, legacyNoarch });
    fixes.push({ env, file, result });
    if (result.changed && !check) writeFileAtomic(path, result.text);
  }

  // report
  for (const w of index.warnings) out.warn(`warning: channel ${w.channel}: ${w.message} (facts from it unknown)`);
  for (const p of problems) out.warn(formatProblem(p));
  const pending = fixes.filter((f) => needsFix(f.result));
  const result = {
    ok: problems.length === 0 && (!check || pending.length === 0),
    check,
    acceptNearest,
    envs: fixes.map((f) => ({
      env: f.env,
      file: f.file,
      changed: f.result.changed,
      written: f.result.changed && !check,
      applied: f.result.applied,
      findings: f.result.findings,
      diff: f.result.diff,
    })),
    problems,
    channelWarnings: index.warnings,
  };
  for (const f of fixes) {
    if (f.result.diff) out.info(f.result.diff.trimEnd());
    for (const a of f.result.applied) out.info(`${f.file}:${a.line}: ${a.rule}: ${a.message}`);
    for (const x of f.result.findings) out.info(`${f.file}:${x.line}: ${x.kind}: ${x.message}`);
  }
  const changed = fixes.filter((f) => f.result.changed).length;
  const gone = fixes.flatMap((f) => f.result.findings.filter((x) => x.kind === 'version-gone')).length;
  const verb = check ? 'would change' : 'changed';
  out.info(
    `${verb} ${changed} of ${fixes.length} spec${fixes.length === 1 ? '' : 's'}` +
      (gone
        ? `; ${gone} version${gone === 1 ? '' : 's'} gone from the channel ` +
          '(listed above; --accept-nearest writes the nearest)'
        : ''),
  );

  // --check is a gate: a rule that would apply fails it
  const outcome = problems.some((p) => p.severity === 'error') ? badInput() : failedIf(check && pending.length > 0);
  return { outcome, result };
}
