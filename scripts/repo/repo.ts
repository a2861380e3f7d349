/**
 * Reading the repository: a directory's inventory.ini + env-specs/ into core/repo.ts's checkRepo, and the root.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { InputError, UsageError, type Problem } from '../core/errors.js';
import type { Inventory } from '../core/types.js';
import { isPlainVersionSpec, versionSpecChecker } from '../core/matchspec.js';
import { checkRepo, INVENTORY_FILE, SPECS_DIR } from '../core/repo.js';
import type { Repo, RepoFiles } from '../core/repo.js';
import { existingRoot } from '../state/fsutil.js';

/** Read a repository directory. Throws InputError listing every problem when anything is invalid. */
export async function loadRepo(dir: string): Promise<Repo> {
  const { repo, problems } = await checkRepoDir(dir);
  if (!repo) throw new InputError(problems);
  return repo;
}

/** Like loadRepo but returns problems instead of throwing (validate prints them all). */
export async function checkRepoDir(dir: string): Promise<{ repo?: Repo; problems: Problem[] }> {
  const files = readRepoFiles(dir);
  // Most repos only use plain version specs: check those without loading rattler (150 ms, 25 MB), and
  // ask rattler about the rest afterwards.
  const rare = new Set<string>();
  const first = checkRepo(dir, files, (v) => {
    if (!isPlainVersionSpec(v)) rare.add(v);
    return undefined;
  });
  if (!rare.size) return first;
  const check = await versionSpecChecker();
  if ([...rare].every((v) => check(v) === undefined)) return first;
  // some version spec is invalid: check again with rattler so each error lands at its line
  return checkRepo(dir, files, check);
}

export function readRepoFiles(dir: string): RepoFiles {
  const invPath = join(dir, INVENTORY_FILE);
  const specsDir = join(dir, SPECS_DIR);
  const specs = new Map<string, Uint8Array>();
  if (existsSync(specsDir)) {
    for (const f of readdirSync(specsDir, { withFileTypes: true })) {
      if (f.isFile()) specs.set(f.name, readFileSync(join(specsDir, f.name)));
    }
  }
  return { inventory: existsSync(invPath) ? readFileSync(invPath) : undefined, specs };
}

/** The installation root: --root, then $CONDA_GITOPS_ROOT, then [conda] root; it must exist (UsageError). */
export function resolveRoot(
  ctx: { options: Record<string, unknown>; env: Record<string, string | undefined> },
  inventory?: Inventory,
  opts: { mustExist?: boolean } = {},
): string {
  const flag = ctx.options.root;
  const root = (typeof flag === 'string' && flag) || ctx.env.CONDA_GITOPS_ROOT || inventory?.conda.root;
  if (!root)
    throw new UsageError(
      'no installation root: pass --root DIR, set CONDA_GITOPS_ROOT, or set [conda] root in inventory.ini',
    );
  const abs = root.startsWith('/') ? root : join(process.cwd(), root);
  // a root that does not exist is a usage error everywhere, except where it is only a path (a PR plan on a runner)
  const source =
    typeof flag === 'string' && flag ? '--root' : ctx.env.CONDA_GITOPS_ROOT ? 'CONDA_GITOPS_ROOT' : '[conda] root';
  return opts.mustExist === false ? abs : existingRoot(abs, source);
}
