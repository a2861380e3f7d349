/**
 * The repository's desired state: inventory.ini + env-specs/NAME.yml, checked together (pure: texts in).
 * Reading a directory or a commit is repo/repo.ts.
 */
import type { Inventory, EnvSpec } from './types.js';
import type { RepoSnapshot } from './changes.js';
import type { Problem } from './errors.js';
import { decodeInput } from './input.js';
import { parseInventory } from './inventory.js';
import { parseSpec } from './spec.js';
import { allowListOf, specSourceProblems } from './allowlist.js';
import { checkRequirements } from './requirements.js';
import { closest } from './suggest.js';

export const INVENTORY_FILE = 'inventory.ini';
export const SPECS_DIR = 'env-specs';

/** An env's spec, relative to the repository: `env-specs/NAME.yml`. */
export function specFile(name: string): string {
  return `${SPECS_DIR}/${name}.yml`;
}

export interface Repo {
  dir: string;
  inventory: Inventory;
  specs: Map<string, EnvSpec>;
  warnings: Problem[];
  /** env name -> text of env-specs/NAME.test.sh and NAME.test.py (joined by NUL): part of a verdict's key */
  testTexts?: Map<string, string>;
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
      message: `${INVENTORY_FILE} not found in ${dir}: run conda-gitops in the repository, or pass --repo DIR`,
    });
    return { problems };
  }
  const decoded = decodeInput(files.inventory, INVENTORY_FILE);
  if (decoded.problem) return { problems: [decoded.problem] };
  const { inventory, problems: invProblems } = parseInventory(decoded.text!, INVENTORY_FILE);
  problems.push(...invProblems);

  const specs = new Map<string, EnvSpec>();
  const listed = new Map((inventory?.environments ?? []).map((e) => [e.name, e]));
  // an env listed without a spec whose name is a typo of an unlisted spec: one error at the env, naming the spec
  const unlisted = [...files.specs.keys()].flatMap((f) => {
    const m = SPEC_FILE.exec(f);
    return m && !SIDE_FILE.test(f) && !listed.has(m[1]!) ? [m[1]!] : [];
  });
  const meant = new Map<string, string>();
  for (const env of inventory?.environments ?? []) {
    const near = files.specs.has(`${env.name}.yml`) ? undefined : closest(env.name, unlisted);
    if (near !== undefined) meant.set(env.name, near);
  }
  const claimed = new Set(meant.values());
  for (const [fileName, bytes] of [...files.specs].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const file = `${SPECS_DIR}/${fileName}`;
    const side = SIDE_FILE.exec(fileName);
    if (side) {
      if (inventory && !listed.has(side[1]!)) {
        const near = closest(side[1]!, [...listed.keys()]);
        problems.push({
          file,
          line: 1,
          severity: 'warning',
          message:
            `'${side[1]}' is not an environment listed in ${INVENTORY_FILE}: this test never runs` +
            (near ? `: did you mean '${near}.test.${side[2]}'?` : ''),
        });
      }
      continue;
    }
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
      if (claimed.has(name)) continue; // named in the error of the env it was meant for
      problems.push({
        file,
        line: 1,
        severity: 'warning',
        message: `'${name}' is not listed in ${INVENTORY_FILE}: not built`,
      });
      continue;
    }
    const parsed = checkSpecFile(name, bytes, inventory, checkVersion);
    problems.push(...parsed.problems);
    if (!parsed.spec) continue;
    // its requirements files are part of it: read from this snapshot, checked, hashed into the build id
    const req = inventory ? checkRequirements(parsed.spec, files.specs, allowListOf(inventory)) : undefined;
    problems.push(...(req?.problems ?? []));
    if (req?.problems.length) continue;
    const digests = req && Object.keys(req.digests).length ? { requirementDigests: req.digests } : {};
    specs.set(name, { ...parsed.spec, ...digests });
  }
  for (const env of inventory?.environments ?? []) {
    if (!files.specs.has(`${env.name}.yml`)) problems.push(missingSpecProblem(env, meant.get(env.name)));
  }
  if (!inventory || problems.some((p) => p.severity === 'error')) return { problems };
  return { repo: { dir, inventory, specs, warnings: problems, testTexts: testTextsOf(files) }, problems };
}

/**
 * What change detection compares (core/changes.ts), from the files as any reader read them: the raw text of
 * each env-specs/NAME.yml and the env's test scripts. A partial snapshot (a pull request's changed files only)
 * compares equal wherever both sides leave a file out.
 */
export function snapshotOf(files: RepoFiles, inventory: Inventory): RepoSnapshot {
  const specTexts = new Map<string, string>();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  for (const [fileName, bytes] of files.specs) {
    const m = SPEC_FILE.exec(fileName);
    if (!m || SIDE_FILE.test(fileName)) continue;
    // a requirements file it reads is part of it (read loosely here: the checked reading is checkRequirements)
    const text = decode(bytes);
    const reqs = [...text.matchAll(/^\s*-\s*(?:-r|--requirement)[\s=]+(\S+)/gm)].map((r) => r[1]!.replace(/^\.\//, ''));
    const read = reqs.map((r) => `\0-r ${r}\0${files.specs.has(r) ? decode(files.specs.get(r)!) : ''}`);
    specTexts.set(m[1]!, text + read.join(''));
  }
  return { inventory, specTexts, testTexts: testTextsOf(files) };
}

/** The per-env test scripts' texts, as a verdict key reads them (`sh` then `py`, NUL between). */
export function testTextsOf(files: RepoFiles): Map<string, string> {
  const out = new Map<string, string>();
  const text = (name: string) => {
    const b = files.specs.get(name);
    return b ? new TextDecoder().decode(b) : '';
  };
  for (const fileName of files.specs.keys()) {
    const m = SIDE_FILE.exec(fileName);
    if (!m || out.has(m[1]!)) continue;
    out.set(m[1]!, `${text(`${m[1]}.test.sh`)}\0${text(`${m[1]}.test.py`)}`);
  }
  return out;
}

/** One env's spec bytes checked as checkRepo checks them (decoding, YAML, versions, channels, pip sources). Pure. */
export function checkSpecFile(
  name: string,
  bytes: Uint8Array,
  inventory: Inventory | undefined,
  checkVersion?: (v: string) => string | undefined,
): { spec?: EnvSpec; problems: Problem[] } {
  const file = specFile(name);
  const text = decodeInput(bytes, file);
  if (text.problem) return { problems: [text.problem] };
  const parsed = parseSpec(text.text!, file, name, checkVersion);
  const read = parsed.spec ?? parsed.partial;
  // every problem at once: a bad dependency does not hide a disallowed channel
  const problems = [...parsed.problems, ...(inventory && read ? sourceProblems(read, inventory) : [])];
  return problems.some((p) => p.severity === 'error') ? { problems } : { spec: parsed.spec, problems };
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

/** An env inventory.ini lists without its env-specs/NAME.yml. */
export function missingSpecProblem(env: { name: string; mode: string; line: number }, meant?: string): Problem {
  return {
    file: INVENTORY_FILE,
    line: env.line,
    severity: 'error',
    message:
      `${env.mode} environment '${env.name}' has no spec: ` +
      (meant !== undefined
        ? `did you mean '${meant}' (${SPECS_DIR}/${meant}.yml)?`
        : `create ${SPECS_DIR}/${env.name}.yml (conda-gitops export can write it)`),
  };
}
