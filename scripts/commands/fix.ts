/**
 * fix: apply the remediation rules (design section 8) to env specs in place and print the unified diff.
 * read (inventory + specs) -> facts (channels) -> remediate (pure) -> write or --check -> report.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { boolOption, listOption, type Context } from '../cli/command.js';
import { EXIT, InputError, UsageError, formatProblem, type Problem } from '../core/errors.js';
import { decodeInput } from '../core/input.js';
import { parseInventory } from '../core/inventory.js';
import { resolveRoot } from '../repo/repo.js';
import { INVENTORY_FILE, SPECS_DIR } from '../core/repo.js';
import { parseSpec } from '../core/spec.js';
import { installationLayout } from '../core/layout.js';
import { Conda } from '../engine/conda.js';
import { writeFileAtomic } from '../state/fsutil.js';
import { ChannelIndex, effectiveChannels, readCondarc } from '../engine/channel-index.js';
import { namesToLookUp, needsFix, remediate, type RemediationResult } from '../core/remediation.js';

interface EnvFix {
  env: string;
  file: string;
  result: RemediationResult;
}

export async function run(ctx: Context): Promise<number> {
  const check = boolOption(ctx, 'check');
  const acceptNearest = boolOption(ctx, 'accept-nearest');

  // read
  const invPath = join(ctx.repo, INVENTORY_FILE);
  if (!existsSync(invPath)) throw new UsageError(`${INVENTORY_FILE} not found in ${ctx.repo} (use --repo DIR)`);
  const invText = decodeInput(readFileSync(invPath), INVENTORY_FILE);
  if (invText.problem) throw new InputError([invText.problem]);
  const { inventory, problems: invProblems } = parseInventory(invText.text!, INVENTORY_FILE);
  if (!inventory) throw new InputError(invProblems);
  const wanted = listOption(ctx, 'env');
  const listed = new Set(inventory.environments.map((e) => e.name));
  for (const w of wanted) if (!listed.has(w)) throw new UsageError(`'${w}' is not an environment in ${INVENTORY_FILE}`);
  const envs = wanted.length ? wanted : inventory.environments.filter((e) => e.mode === 'REPLICATE').map((e) => e.name);

  // facts come from the installation the specs are built in: its conda and its .condarc
  const root = resolveRoot(ctx, inventory);
  const inst = installationLayout(root, inventory.conda.version);
  // without the installation's conda, local channels still answer; remote ones become "unknown"
  const conda = existsSync(join(inst.dir, 'bin', inventory.conda.frontend))
    ? Conda.forInstallation(inst.dir, inventory.conda.frontend, { timeoutSeconds: 300 })
    : undefined;
  const rc = readCondarc(existsSync(inst.dir) ? inst.dir : undefined, ctx.env);
  const index = new ChannelIndex(conda);
  const legacyNoarch = inventory.legacyNoarch.map((l) => l.name);

  const fixes: EnvFix[] = [];
  const problems: Problem[] = [];
  for (const env of envs) {
    const file = `${SPECS_DIR}/${env}.yml`;
    const path = join(ctx.repo, file);
    if (!existsSync(path)) {
      problems.push({ file, line: 1, severity: 'error', message: 'spec not found' });
      continue;
    }
    const decoded = decodeInput(readFileSync(path), file);
    if (decoded.problem) { problems.push(decoded.problem); continue; }
    const text = decoded.text!;
    const parsed = parseSpec(text, file, env);
    if (!parsed.spec) { problems.push(...parsed.problems); continue; }
    const facts = await index.facts(effectiveChannels(parsed.spec.channels, rc), namesToLookUp(parsed.spec));
    const result = await remediate(text, file, env, facts, { acceptNearest, legacyNoarch });
    fixes.push({ env, file, result });
    if (result.changed && !check) writeFileAtomic(path, result.text);
  }

  // report
  for (const w of index.warnings) ctx.out.warn(`warning: channel ${w.channel}: ${w.message} (facts from it unknown)`);
  for (const p of problems) ctx.out.warn(formatProblem(p));
  const pending = fixes.filter((f) => needsFix(f.result));
  if (ctx.out.json) {
    ctx.out.result({
      ok: problems.length === 0 && (!check || pending.length === 0),
      check,
      acceptNearest,
      envs: fixes.map((f) => ({
        env: f.env, file: f.file, changed: f.result.changed, written: f.result.changed && !check,
        applied: f.result.applied, findings: f.result.findings, diff: f.result.diff,
      })),
      problems,
      channelWarnings: index.warnings,
    });
  }
  for (const f of fixes) {
    if (f.result.diff) ctx.out.info(f.result.diff.trimEnd());
    for (const a of f.result.applied) ctx.out.info(`${f.file}:${a.line}: ${a.rule}: ${a.message}`);
    for (const x of f.result.findings) ctx.out.info(`${f.file}:${x.line}: ${x.kind}: ${x.message}`);
  }
  const changed = fixes.filter((f) => f.result.changed).length;
  const gone = fixes.flatMap((f) => f.result.findings.filter((x) => x.kind === 'version-gone')).length;
  const verb = check ? 'would change' : 'changed';
  ctx.out.info(`${verb} ${changed} of ${fixes.length} spec${fixes.length === 1 ? '' : 's'}` +
    (gone ? `; ${gone} version${gone === 1 ? '' : 's'} gone from the channel (listed above; --accept-nearest writes the nearest)` : ''));

  if (problems.some((p) => p.severity === 'error')) return EXIT.BAD_INPUT;
  return check && pending.length ? EXIT.FAILED : EXIT.OK;
}
