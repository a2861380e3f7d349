/**
 * The repository's desired state: inventory.ini + env-specs/NAME.yml, checked together (pure: texts in).
 * Reading a directory or a commit is repo/repo.ts.
 */
import type { Inventory, EnvSpec } from './types.js';
import type { Problem } from './errors.js';
import { decodeInput } from './input.js';
import { parseInventory } from './inventory.js';
import { parseSpec } from './spec.js';
import { allowListOf, specSourceProblems } from './allowlist.js';

export const INVENTORY_FILE = 'inventory.ini';
export const SPECS_DIR = 'env-specs';

export interface Repo {
  dir: string;
  inventory: Inventory;
  specs: Map<string, EnvSpec>;
  warnings: Problem[];
}

export interface RepoFiles {
  inventory: Uint8Array | undefined;
  /** env-specs/ file name -> bytes */
  specs: Map<string, Uint8Array>;
}

const SPEC_FILE = /^(.+)\.yml$/;
const SIDE_FILE = /^(.+)\.test\.(sh|py)$/;

/** Check inventory and specs together. Pure. Returns problems (errors and warnings) and, when valid, the repo. */
export function checkRepo(
  dir: string,
  files: RepoFiles,
  checkVersion?: (v: string) => string | undefined,
): { repo?: Repo; problems: Problem[] } {
  const problems: Problem[] = [];
  if (!files.inventory) {
    problems.push({
      file: INVENTORY_FILE,
      line: 1,
      severity: 'error',
      message: `${INVENTORY_FILE} not found in ${dir}`,
    });
    return { problems };
  }
  const decoded = decodeInput(files.inventory, INVENTORY_FILE);
  if (decoded.problem) return { problems: [decoded.problem] };
  const { inventory, problems: invProblems } = parseInventory(decoded.text!, INVENTORY_FILE);
  problems.push(...invProblems);

  const specs = new Map<string, EnvSpec>();
  const listed = new Map((inventory?.environments ?? []).map((e) => [e.name, e]));
  for (const [fileName, bytes] of [...files.specs].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const file = `${SPECS_DIR}/${fileName}`;
    if (SIDE_FILE.test(fileName)) continue;
    const m = SPEC_FILE.exec(fileName);
    if (!m) {
      problems.push({
        file,
        line: 1,
        severity: 'warning',
        message: 'not a NAME.yml spec or NAME.test.sh/.py test: ignored',
      });
      continue;
    }
    const name = m[1]!;
    if (inventory && !listed.has(name)) {
      problems.push({
        file,
        line: 1,
        severity: 'warning',
        message: `'${name}' is not listed in ${INVENTORY_FILE}: not built`,
      });
      continue;
    }
    const text = decodeInput(bytes, file);
    if (text.problem) {
      problems.push(text.problem);
      continue;
    }
    const parsed = parseSpec(text.text!, file, name, checkVersion);
    problems.push(...parsed.problems);
    if (!parsed.spec) continue;
    if (inventory) problems.push(...sourceProblems(parsed.spec, inventory));
    specs.set(name, parsed.spec);
  }
  for (const env of inventory?.environments ?? []) {
    if (!files.specs.has(`${env.name}.yml`)) {
      problems.push({
        file: INVENTORY_FILE,
        line: env.line,
        severity: 'error',
        message:
          `${env.mode} environment '${env.name}' has no spec: ` +
          `create ${SPECS_DIR}/${env.name}.yml (conda-gitops export can write it)`,
      });
    }
  }
  if (!inventory || problems.some((p) => p.severity === 'error')) return { problems };
  return { repo: { dir, inventory, specs, warnings: problems }, problems };
}

/** Channels and pip sources outside the repository's own allow-list (QA checks the base's too: planguard.ts). */
function sourceProblems(spec: EnvSpec, inventory: Inventory): Problem[] {
  return specSourceProblems(spec, allowListOf(inventory)).map((p) => ({
    file: spec.file,
    line: p.line,
    severity: 'error',
    message: p.message,
  }));
}
