/**
 * export: re-export envs listed in inventory.ini from the installation into env-specs/NAME.yml, with the
 * same fix-ups as adopt (builds stripped where conda ignores --no-builds, prefix dropped, git sources back).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { listOption, type Context } from '../cli/command.js';
import { EXIT, InputError, UsageError } from '../core/errors.js';
import { Conda } from '../engine/conda.js';
import { decodeInput } from '../core/input.js';
import { writeFileAtomic } from '../state/fsutil.js';
import { resolveRoot } from '../repo/repo.js';
import { INVENTORY_FILE, SPECS_DIR } from '../core/repo.js';
import { parseInventory } from '../core/inventory.js';
import { installationLayout } from '../core/layout.js';
import { exportOne, type ExportedEnv } from '../engine/adopt.js';

/** What adopt and export say about each env: the changes made to conda's export and what was not recovered. */
export function reportExports(ctx: Context, exported: ExportedEnv[], skipped: Array<{ name: string; reason: string }>): void {
  for (const x of exported) {
    const file = `${SPECS_DIR}/${x.name}.yml`;
    ctx.out.info(x.changes.length ? `${file}: ${x.changes.join('; ')}` : `${file}: exported as is`);
    for (const u of x.unrecovered) ctx.out.info(`${file}: pip '${u.name}' left as name==version: ${u.reason}`);
  }
  for (const s of skipped) ctx.out.warn(`${s.name}: not exported: ${s.reason}`);
  const unrecovered = exported.flatMap((x) => x.unrecovered.map((u) => `${x.name}:${u.name}`));
  if (unrecovered.length) ctx.out.info(`git sources not recovered (${unrecovered.length}): ${unrecovered.join(', ')}`);
}

/** The conda installation that holds the envs: ROOT/v<version> when managed, else ROOT itself. */
function findInstallation(root: string, version: string): string {
  for (const dir of [installationLayout(root, version).dir, root]) if (existsSync(join(dir, 'bin', 'conda'))) return dir;
  throw new UsageError(`no conda installation at ${installationLayout(root, version).dir} or ${root} (bin/conda not found)`);
}

export async function run(ctx: Context): Promise<number> {
  const invPath = join(ctx.repo, INVENTORY_FILE);
  if (!existsSync(invPath)) throw new UsageError(`${INVENTORY_FILE} not found in ${ctx.repo}: run 'adopt' first (or use --repo DIR)`);
  const decoded = decodeInput(readFileSync(invPath), INVENTORY_FILE);
  if (decoded.problem) throw new InputError([decoded.problem]);
  const { inventory, problems } = parseInventory(decoded.text!, INVENTORY_FILE);
  if (!inventory) throw new InputError(problems);
  const listed = inventory.environments.map((e) => e.name);
  const wanted = listOption(ctx, 'env');
  for (const w of wanted) if (!listed.includes(w)) throw new UsageError(`'${w}' is not listed in ${INVENTORY_FILE}`);
  const names = wanted.length ? wanted : listed;

  const installation = findInstallation(resolveRoot(ctx, inventory), inventory.conda.version);
  const conda = new Conda({ frontend: 'conda', exe: join(installation, 'bin', 'conda'), defaults: { timeoutSeconds: 600 } });
  const v = await conda.version();
  if (!v.value) throw new UsageError(`cannot run ${conda.config.exe} --version: ${(v.stderr || v.parseError || '').trim() || `exit ${v.code}`}`);
  const list = await conda.envList();
  const prefixes = new Map((list.value ?? []).filter((p) => resolve(p) !== installation).map((p) => [basename(p), p]));

  const exported: ExportedEnv[] = [];
  const skipped: Array<{ name: string; reason: string }> = [];
  for (const [i, name] of names.entries()) {
    ctx.out.progress(`[${i + 1}/${names.length}] export ${name}`);
    const prefix = prefixes.get(name) ?? join(installation, 'envs', name);
    if (!existsSync(join(prefix, 'conda-meta'))) { skipped.push({ name, reason: `no env at ${prefix}` }); continue; }
    const x = await exportOne(conda, v.value.version, name, prefix);
    if (x.error) { skipped.push({ name, reason: x.error }); continue; }
    writeFileAtomic(join(ctx.repo, SPECS_DIR, `${name}.yml`), x.text);
    exported.push(x);
  }

  reportExports(ctx, exported, skipped);
  ctx.out.info(`exported ${exported.length} of ${names.length} env${names.length === 1 ? '' : 's'} from ${installation} (conda ${v.value.version})`);
  if (ctx.out.json) {
    ctx.out.result({
      ok: skipped.length === 0,
      installation,
      condaVersion: v.value.version,
      envs: exported.map((x) => ({ name: x.name, prefix: x.prefix, spec: `${SPECS_DIR}/${x.name}.yml`, changes: x.changes, unrecovered: x.unrecovered })),
      skipped,
    });
  }
  return skipped.length ? EXIT.FAILED : EXIT.OK;
}
