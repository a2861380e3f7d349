/**
 * inventory.ini: the desired state's index (docs/inventory.md). We scan lines ourselves so every
 * section, key and error knows its line, decode values with `ini`, and check the result with the
 * JSON Schema in schemas/inventory.schema.json (which doubles as documentation).
 */
import ini from 'ini';
import type { ErrorObject } from 'ajv';
import type { Problem } from './errors.js';
import type { EnvMode, Frontend, Inventory } from './types.js';
import { loadSchema, schemaValidator } from './schemas.js';
import { didYouMean } from './suggest.js';
import { isSecretName } from './childenv.js';
import { parseCustomChannels } from './install-conda.js';
import { compareCondaVersions } from './conda-version.js';
import { isValidKernelName, kernelName } from './kernel.js';

export const ENV_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Env names that would collide with conda's own or with the layout under ROOT, and why. */
const RESERVED_ENV_NAMES: Record<string, string> = {
  base: "conda's own environment (conda refuses to create it)",
  root: "conda's old name for its own environment (conda refuses to create it)",
  current: 'ROOT/current is the live installation',
  qa: 'ROOT/qa is the installation QA builds into',
};
const SECTIONS = ['conda', 'environments', 'kernels', 'legacy-noarch'] as const;
type Section = (typeof SECTIONS)[number];

interface Entry {
  key: string;
  value: string | undefined;
  line: number;
}

function validate(data: unknown) {
  const validator = schemaValidator('inventory');
  return validator(data) ? [] : (validator.errors ?? []);
}

type Sections = Map<Section, Entry[]> & { sectionLines: Map<Section, number> };

/** Scan the INI text into sections of entries with lines. Structural problems are reported, not thrown. */
function scan(text: string, file: string, problems: Problem[]): Sections {
  const sections = Object.assign(new Map<Section, Entry[]>(), { sectionLines: new Map<Section, number>() });
  const err = (line: number, message: string) => problems.push({ file, line, message, severity: 'error' });
  let current: Section | undefined;
  let skipping = false;
  const keyLines: Partial<Record<Section, Map<string, number>>> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    if (/^\s*([;#].*)?$/.test(raw)) return;
    if (/^\s/.test(raw))
      return err(line, 'indented line: continuation lines are not supported, start keys at column 1');
    const header = /^\[([^\]]*)\]\s*([;#].*)?$/.exec(raw);
    if (header) {
      const name = header[1]!.trim();
      if (!(SECTIONS as readonly string[]).includes(name)) {
        err(
          line,
          `unknown section [${name}] (known: ${SECTIONS.map((s) => `[${s}]`).join(', ')})` +
            didYouMean(name, SECTIONS).replace(/'(.*)'/, '[$1]'),
        );
        current = undefined;
        skipping = true;
        return;
      }
      const section = name as Section;
      if (sections.has(section))
        err(line, `section [${section}] appears twice (first at line ${sections.sectionLines.get(section)})`);
      else {
        sections.set(section, []);
        sections.sectionLines.set(section, line);
      }
      current = section;
      skipping = false;
      return;
    }
    if (skipping) return;
    if (!current) return err(line, 'entry outside of any section');
    const eq = raw.indexOf('=');
    const key = (eq < 0 ? decode(raw) : raw.slice(0, eq)).trim();
    const rawValue = eq < 0 ? undefined : raw.slice(eq + 1).trim();
    if (!key) return err(line, 'empty key');
    // A display name is text people write `;` and `#` into (`Python 3; GPU`, `C#`): in [kernels] only a `;` or
    // `#` after a space starts a comment (`NAME = Name   ; comment`), so a name is kept whole, never cut
    const kernelName =
      current === 'kernels' && rawValue !== undefined && !/^(".*"|'.*')$/.test(rawValue)
        ? rawValue.replace(/(^|\s)[;#].*$/, '').trim()
        : undefined;
    const value = kernelName ?? (rawValue === undefined ? undefined : decode(rawValue).trim());
    const entries = sections.get(current)!;
    // a Map per section: a linear search here made 10,000 envs quadratic
    const seen = (keyLines[current] ??= new Map<string, number>());
    const first = seen.get(key);
    if (first !== undefined) return err(line, `duplicate key '${key}' in [${current}] (first at line ${first})`);
    seen.set(key, line);
    entries.push({ key, value, line });
  });
  return sections;
}

/** ini's value decoding (quotes, escapes, inline comments), skipped for the plain values nearly every line has. */
function decode(value: string): string {
  return /["'\\;#]/.test(value) ? ini.unsafe(value) : value.trim();
}
/** [conda] keys whose value is a list (comma or space separated) */
const LIST_KEYS = new Set([
  'channels',
  'pip-git-hosts',
  'pip-indexes',
  'pass-env',
  'custom-channels',
  'default-channels',
  'pkgs-dirs',
  'envs-dirs',
  'allow-failures',
]);

function splitList(value: string): string[] {
  return value.split(/[\s,]+/).filter(Boolean);
}

/** A problem found at a line of the file being parsed. */
type Report = (line: number, message: string) => void;

/** The plain object the schema checks, and the line each of its values came from (by JSON pointer). */
interface SchemaInput {
  data: Record<string, unknown>;
  where: Map<string, number>;
}

/** How a section's entries become the value the schema checks; records each value's line in `where`. */
type SectionReader = (section: Section, entries: Entry[], where: Map<string, number>, report: Report) => unknown;

/** `KEY = VALUE` sections: an object (null prototype: a key named `__proto__` must be a property the schema sees). */
function keyValues(valueOf: (key: string, value: string) => unknown = (_key, value) => value): SectionReader {
  return (section, entries, where, report) => {
    const values: Record<string, unknown> = Object.create(null);
    for (const e of entries) {
      if (e.value === undefined) {
        report(e.line, `'${e.key}' has no value (expected '${e.key} = ...')`);
        continue;
      }
      values[e.key] = valueOf(e.key, e.value);
      where.set(`/${section}/${e.key}`, e.line);
    }
    return values;
  };
}

/** [legacy-noarch]: a list of bare package names. */
const bareNames: SectionReader = (section, entries, where, report) =>
  entries.map((e, i) => {
    if (e.value !== undefined) report(e.line, `[legacy-noarch] lists bare package names, got '${e.key} = ${e.value}'`);
    where.set(`/${section}/${i}`, e.line);
    return e.key;
  });

const SECTION_READERS: Record<Section, SectionReader> = {
  conda: keyValues((key, value) => (LIST_KEYS.has(key) ? splitList(value) : value)),
  environments: keyValues(),
  kernels: keyValues(),
  'legacy-noarch': bareNames,
};

/** The scanned sections as the object the schema checks, remembering where each value came from. */
function schemaInput(sections: Sections, report: Report): SchemaInput {
  const where = new Map<string, number>();
  const data: Record<string, unknown> = Object.create(null);
  for (const s of SECTIONS) {
    const entries = sections.get(s);
    if (!entries) continue;
    where.set(`/${s}`, sections.sectionLines.get(s) ?? 1);
    data[s] = SECTION_READERS[s](s, entries, where, report);
  }
  return { data, where };
}

function schemaProblems(input: SchemaInput, file: string): Problem[] {
  // ajv reports a bad key twice (propertyNames + the inner pattern); keep the one that names the key
  return validate(input.data)
    .filter((error) => !(error.keyword === 'pattern' && error.propertyName !== undefined))
    .map((error) => schemaProblem(error, input.where, file, input.data));
}

/** A [conda] list key's values (after the schema check: a list, or absent). */
function condaList(conda: Record<string, unknown>, key: string): string[] | undefined {
  return Array.isArray(conda[key]) ? (conda[key] as unknown[]).map(String) : undefined;
}

function checkPassEnv(passEnv: string[], line: number, report: Report): void {
  for (const name of passEnv)
    if (isSecretName(name))
      report(
        line,
        `pass-env: '${name}' looks like a secret (token, password, key, GitHub/Actions credential) ` +
          'and is never given to conda, pip or tests',
      );
}

/**
 * `solver` arrived in conda 22.11.0 (4.12 knows `experimental_solver`); an older conda ignores the key in silence,
 * so `libmamba` would promise a solver the builds never use (real conda 4.12.0, probe solver). `classic` is what
 * an older conda does anyway: accepted (an admin sets it before an upgrade PR), and not written to its .condarc.
 */
function checkSolver(conda: Record<string, unknown>, line: number, report: Report): void {
  if (
    conda.solver === 'libmamba' &&
    typeof conda.version === 'string' &&
    conda.frontend !== 'micromamba' &&
    /^\d+(\.\d+)*$/.test(conda.version) &&
    compareCondaVersions(conda.version, '22.11') < 0
  )
    report(
      line,
      `solver: conda ${conda.version} does not know this key (it exists from conda 22.11.0) and would ignore it: ` +
        "remove it, set it to 'classic' (what this conda does), or raise [conda] version (docs/inventory.md)",
    );
}

type Environment = Inventory['environments'][number];
type Kernel = Inventory['kernels'][number];

/** [kernels]: `ENV = Name`, or `ENV:SPEC = Name` to publish a kernelspec the env ships (share/jupyter/kernels/SPEC) */
function readKernels(entries: Entry[], report: Report): Kernel[] {
  return entries.map((e) => {
    const colon = e.key.indexOf(':');
    const spec = colon < 0 ? undefined : e.key.slice(colon + 1).trim();
    if (spec !== undefined && !isValidKernelName(spec))
      report(e.line, `kernel '${e.key}': '${spec}' is not a kernelspec name (letters, digits, '.', '_', '-')`);
    return {
      name: colon < 0 ? e.key : e.key.slice(0, colon).trim(),
      displayName: e.value!,
      ...(spec ? { spec } : {}),
      line: e.line,
    };
  });
}

function checkReservedNames(environments: Environment[], report: Report): void {
  for (const e of environments)
    if (RESERVED_ENV_NAMES[e.name.toLowerCase()])
      report(e.line, `environment name '${e.name}' is reserved: ${RESERVED_ENV_NAMES[e.name.toLowerCase()]}`);
}

/** Why `name` cannot be used where a REPLICATE env is expected (a kernel, allow-failures), if it cannot. */
function notReplicated(name: string, envByName: Map<string, Environment>): string | undefined {
  const env = envByName.get(name);
  if (!env) return `is not an environment listed in [environments]${didYouMean(name, [...envByName.keys()])}`;
  if (env.mode !== 'REPLICATE') return `must be a REPLICATE environment (it is '${env.mode}' at line ${env.line})`;
  return undefined;
}

function checkKernelEnvs(kernels: Kernel[], envByName: Map<string, Environment>, report: Report): void {
  for (const k of kernels) {
    const why = notReplicated(k.name, envByName);
    if (why) report(k.line, `kernel '${k.name}' ${why}`);
  }
}

/** A deploy may leave these out: only envs it deploys, or a typo would silently allow nothing. */
function checkAllowFailures(names: string[], line: number, envByName: Map<string, Environment>, report: Report) {
  for (const name of names) {
    const why = notReplicated(name, envByName);
    if (why) report(line, `allow-failures: '${name}' ${why}`);
  }
}

/** Jupyter kernel names are case-insensitive: two that differ only in case would overwrite each other. */
function checkKernelClashes(kernels: Kernel[], report: Report): void {
  const lowered = new Map<string, number>();
  for (const k of kernels) {
    const dir = kernelName(k.name, k.spec);
    const prev = lowered.get(dir);
    const shown = k.spec ? `${k.name}:${k.spec}` : k.name;
    if (prev !== undefined)
      report(k.line, `kernel '${shown}' clashes with the kernel at line ${prev} (kernel names are case-insensitive)`);
    lowered.set(dir, k.line);
  }
}

/** The [conda] settings of a valid inventory, typed; `keyLines` says where each key was written. */
function condaSettings(
  input: SchemaInput,
  lists: { passEnv?: string[]; allowFailures: string[] },
  line: number,
): Inventory['conda'] {
  const conda = (input.data.conda ?? {}) as Record<string, unknown>;
  const { passEnv, allowFailures } = lists;
  return {
    ...(conda.root ? { root: conda.root as string } : {}),
    version: conda.version as string,
    frontend: (conda.frontend as Frontend | undefined) ?? 'conda',
    ...(conda.installer ? { installer: conda.installer as string } : {}),
    ...(conda['installer-sha256'] ? { installerSha256: (conda['installer-sha256'] as string).toLowerCase() } : {}),
    channels: conda.channels as string[],
    ...(conda['custom-channels']
      ? { customChannels: parseCustomChannels(conda['custom-channels'] as string[]).channels }
      : {}),
    ...(conda['channel-alias'] ? { channelAlias: conda['channel-alias'] as string } : {}),
    ...(conda['default-channels'] ? { defaultChannels: conda['default-channels'] as string[] } : {}),
    ...(conda['pkgs-dirs'] ? { pkgsDirs: conda['pkgs-dirs'] as string[] } : {}),
    ...(conda['envs-dirs'] ? { envsDirs: conda['envs-dirs'] as string[] } : {}),
    ...(conda.solver ? { solver: conda.solver as 'classic' | 'libmamba' } : {}),
    ...(conda['pip-git-hosts'] ? { pipGitHosts: conda['pip-git-hosts'] as string[] } : {}),
    ...(conda['pip-indexes'] ? { pipIndexes: conda['pip-indexes'] as string[] } : {}),
    ...(conda['unsandboxed-tests'] === 'allow' ? { unsandboxedTests: true } : {}),
    ...(passEnv?.length ? { passEnv } : {}),
    ...(allowFailures.length ? { allowFailures: [...new Set(allowFailures)].sort() } : {}),
    line,
    keyLines: Object.fromEntries(
      [...input.where].flatMap(([k, l]) => (/^\/conda\/[^/]+$/.test(k) ? [[k.slice('/conda/'.length), l]] : [])),
    ),
  };
}

/** Parse and validate inventory.ini text. Pure. Returns the inventory only when there is no error. */
export function parseInventory(text: string, file = 'inventory.ini'): { inventory?: Inventory; problems: Problem[] } {
  const problems: Problem[] = [];
  const report: Report = (line, message) => problems.push({ file, line, message, severity: 'error' });
  const sections = scan(text, file, problems);
  const entries = (s: Section) => sections.get(s) ?? [];
  const input = schemaInput(sections, report);
  for (const problem of schemaProblems(input, file)) problems.push(problem);

  const lineOf = (pointer: string) => input.where.get(pointer) ?? 1;
  const conda = (input.data.conda ?? {}) as Record<string, unknown>;
  const passEnv = condaList(conda, 'pass-env');
  const allowFailures = condaList(conda, 'allow-failures') ?? [];
  checkPassEnv(passEnv ?? [], lineOf('/conda/pass-env'), report);
  checkSolver(conda, lineOf('/conda/solver'), report);

  const environments = entries('environments').map((e) => ({ name: e.key, mode: e.value as EnvMode, line: e.line }));
  const kernels = readKernels(entries('kernels'), report);
  // a Map, not a find() per kernel: 500 kernels in 10,000 envs made this quadratic
  const envByName = new Map(environments.map((e) => [e.name, e]));
  checkReservedNames(environments, report);
  checkKernelEnvs(kernels, envByName, report);
  checkAllowFailures(allowFailures, lineOf('/conda/allow-failures'), envByName, report);
  checkKernelClashes(kernels, report);
  if (problems.length) return { problems };

  return {
    problems,
    inventory: {
      file,
      conda: condaSettings(input, { passEnv, allowFailures }, sections.sectionLines.get('conda') ?? 1),
      environments,
      kernels,
      legacyNoarch: entries('legacy-noarch').map((e) => ({ name: e.key, line: e.line })),
    },
  };
}

/** The value at a JSON pointer of the object the schema checked (for "did you mean"). */
function valueAt(data: unknown, pointer: string): unknown {
  let v = data;
  for (const key of pointer.split('/').slice(1))
    v = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
  return v;
}

/** The keys the schema allows in a section (for "did you mean"). */
function knownKeys(section: string | undefined): string[] {
  const props = (loadSchema('inventory') as { properties?: Record<string, { properties?: object }> }).properties;
  return Object.keys((section && props?.[section]?.properties) ?? {});
}

function schemaProblem(e: ErrorObject, where: Map<string, number>, file: string, data: unknown): Problem {
  const params = e.params as Record<string, unknown>;
  const path = e.instancePath;
  const section = path.split('/')[1];
  let line = where.get(path) ?? where.get(path.split('/').slice(0, 3).join('/')) ?? where.get(`/${section}`) ?? 1;
  let message: string;
  switch (e.keyword) {
    case 'additionalProperties':
      if (path === '') message = `unknown section [${String(params.additionalProperty)}]`;
      else {
        message =
          `unknown key '${String(params.additionalProperty)}' in [${section}]` +
          didYouMean(String(params.additionalProperty), knownKeys(section));
        line = where.get(`${path}/${String(params.additionalProperty)}`) ?? line;
      }
      break;
    case 'required':
      message =
        path === ''
          ? `missing section [${String(params.missingProperty)}]`
          : `[${section}] needs '${String(params.missingProperty)}'`;
      break;
    case 'propertyNames':
      message =
        `invalid name '${String(params.propertyName)}': ` +
        "names are letters, digits, '.', '_', '-', at most 64 characters, starting with a letter or digit";
      line = where.get(`${path}/${String(params.propertyName)}`) ?? line;
      break;
    case 'pattern':
      message = `invalid value for ${path.slice(1).replace(/\//g, '.')}: must match ${String(params.pattern)}`;
      break;
    case 'enum': {
      const value = valueAt(data, path);
      const allowed = (params.allowedValues as string[]).map(String);
      message =
        `invalid value${typeof value === 'string' ? ` '${value}'` : ''} for ${path.slice(1).replace(/\//g, '.')}: ` +
        `expected one of ${allowed.join(', ')}${typeof value === 'string' ? didYouMean(value, allowed) : ''}`;
      break;
    }
    default:
      message = `${path.slice(1).replace(/\//g, '.') || 'inventory'} ${e.message ?? 'is invalid'}`;
  }
  return { file, line, message, severity: 'error' };
}

/** The REPLICATE envs (built, tested, deployed), in inventory order: the one filter every reader uses. */
export function replicatedEnvs(inv: Pick<Inventory, 'environments'>): Inventory['environments'] {
  return inv.environments.filter((e) => e.mode === 'REPLICATE');
}

/** The names of the REPLICATE envs, as a set. */
export function replicatedNames(inv: Pick<Inventory, 'environments'>): Set<string> {
  return new Set(replicatedEnvs(inv).map((e) => e.name));
}
