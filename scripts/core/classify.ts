/**
 * Failure classifier: conda / mamba / micromamba / pip output -> failure class + the package at
 * fault + the few lines that explain it (docs/classify.md). Pure: text in, data out.
 *
 * Rules are general message shapes, tried in precedence order, because one log often shows
 * several symptoms: a git clone that fails inside "Pip failed" is a git-clone-failure, a
 * connect timeout inside a CondaHTTPError is a timeout, and our own kill line beats both.
 */
import type { Classification, EnvSpec, FailureClass } from './types.js';
import { normalizePipName } from './pip.js';
import { TIMEOUT_PREFIX, lastFailedBlock } from './conda-log.js';
import { nearestVersion, sortVersions } from './conda-version.js';

/** A Classification with the details some classes carry. */
export interface ClassificationDetail extends Classification {
  /**
   * A legacy noarch package (pre-conda-4.3 build) whose pre-link script failed: the fix is the
   * [legacy-noarch] list in inventory.ini (installed one by one after create), not a new version.
   */
  legacyNoarch?: boolean;
  /** the URL that could not be fetched (channel-unreachable, timeout) */
  url?: string;
  /** suggested replacement version for missing-version, when the caller computed one */
  nearest?: string;
}

/*
 * Field meanings per class (documented in docs/classify.md):
 * - missing-*: spec = the requested MatchSpec as printed, package = its name.
 * - unsatisfiable: package = the package that cannot be installed, spec = the requirement
 *   that blocks it when the log names one (`package X requires Y` -> X, Y).
 * - pip-failure: spec = the pip requirement, package = its distribution name.
 * - git-clone-failure: spec = the git URL as requested, package = #egg / `name @` / repo name.
 * - timeout / channel-unreachable: url; package+spec when the URL is a package file.
 */

interface Hit {
  class: FailureClass;
  excerpt: string[];
  package?: string;
  spec?: string;
  url?: string;
  legacyNoarch?: boolean;
}

type Rule = (lines: string[]) => Hit | undefined;

const MAX_EXCERPT = 15;
const MAX_LINE = 400;

// ---------------------------------------------------------------------------------------------
// text helpers

/** Normalise: last failed call of a per-env log, no ANSI colours, no CR, progress-bar redraws collapsed. */
function toLines(log: string): string[] {
  const text = lastFailedBlock(log.replace(/\r\n/g, '\n'));
  // eslint-disable-next-line no-control-regex
  const plain = text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '');
  return plain.split('\n').map((l) => {
    const parts = l.split('\r');
    return parts.filter((p) => p.trim() !== '').pop() ?? '';
  });
}

function find(lines: string[], re: RegExp, from = 0, to = lines.length): number {
  for (let i = Math.max(0, from); i < Math.min(to, lines.length); i++) if (re.test(lines[i]!)) return i;
  return -1;
}

function findLast(lines: string[], re: RegExp, to: number, from = 0): number {
  for (let i = Math.min(to, lines.length - 1); i >= Math.max(0, from); i--) if (re.test(lines[i]!)) return i;
  return -1;
}

/** Our own log framing and conda's progress chatter never explain a failure. */
const LOG_FRAMING = String.raw`^(==> conda-gitops call |<== exit |--- (stdout|stderr)$)`;
const CONDA_PROGRESS = [
  'Collecting package metadata',
  'Solving environment',
  'Preparing transaction',
  'Verifying transaction',
  'Executing transaction',
  'Retrieving notices',
  'Downloading and Extracting Packages',
].join('|');
const NOISE = new RegExp([LOG_FRAMING, String.raw`^\s*(${CONDA_PROGRESS})\b`, String.raw`^\s*failed\s*$`].join('|'));

function clip(line: string): string {
  const t = line.trimEnd();
  return t.length > MAX_LINE ? `${t.slice(0, MAX_LINE)}…` : t;
}

/**
 * Non-blank lines from `start`, stopping before a line matching `stop` (after the first) or
 * at `max`; says how many were left out so a reader knows to open the full log.
 */
function block(lines: string[], start: number, max = MAX_EXCERPT, stop?: RegExp): string[] {
  const out: string[] = [];
  let left = 0;
  for (let i = start; i < lines.length; i++) {
    const l = lines[i]!;
    if (i > start && stop?.test(l)) break;
    if (l.trim() === '' || (i > start && NOISE.test(l))) continue;
    if (out.length < max) out.push(clip(l));
    else left++;
  }
  if (left > 0) out.push(`… (${left} more lines in the log)`);
  return out;
}

/** The given line indices (sorted, unique), then fill from `start` up to the limit. */
function pick(lines: string[], keys: number[], start: number, stop?: RegExp): string[] {
  const chosen = new Set(keys.filter((k) => k >= 0).slice(0, 8));
  for (let i = Math.max(0, start); i < lines.length && chosen.size < MAX_EXCERPT; i++) {
    if (i > start && stop?.test(lines[i]!)) break;
    if (lines[i]!.trim() !== '' && !NOISE.test(lines[i]!)) chosen.add(i);
  }
  return [...chosen].sort((a, b) => a - b).map((i) => clip(lines[i]!));
}

/** Start of the error block a symptom line belongs to (e.g. the CondaHTTPError line above a timeout). */
function errorStart(lines: string[], i: number): number {
  const j = findLast(lines, /^\s*([A-Z]\w*(Error|Exception):|(critical|error)\s+libmamba\b)/, i, i - 8);
  return j >= 0 ? j : i;
}

const URL_RE = /\b(?:https?|ftp|file|s3):\/\/[^\s<>\]'"),]+/;

function firstUrl(lines: string[], from: number, to: number): string | undefined {
  for (let i = Math.max(0, from); i <= Math.min(to, lines.length - 1); i++) {
    const m = URL_RE.exec(lines[i]!);
    if (m) return m[0].replace(/[.;:]+$/, '');
    // urllib3 writes host and path apart: HTTPSConnectionPool(host='h', port=443): ... url: /path
    const pool = /(HTTPS?)ConnectionPool\(host=\\?'([^'\\]+)\\?'.*?\burl: (\/\S*?)(?=\s|\(|$)/.exec(lines[i]!);
    if (pool) return `${pool[1]!.toLowerCase()}://${pool[2]}${pool[3]}`;
  }
  return undefined;
}

/** `ch::name-1.2-build` / `name-1.2-build` -> name (conda dist names split from the right). */
export function distName(dist: string): string {
  const bare = dist.replace(/^.*::/, '').replace(/\.(conda|tar\.bz2)$/, '');
  const parts = bare.split('-');
  return parts.length >= 3 ? parts.slice(0, -2).join('-') : bare;
}

/** Package file named by a URL: conda archives and wheels. */
function packageFromUrl(url: string): { package: string; spec: string } | undefined {
  const file = url.split(/[?#]/)[0]!.split('/').pop() ?? '';
  const conda = /^(.+-[^-]+-[^-]+)\.(conda|tar\.bz2)$/.exec(file);
  if (conda) return { package: distName(conda[1]!), spec: conda[1]! };
  const wheel = /^([A-Za-z0-9_.]+)-([^-]+)-.*\.whl$/.exec(file);
  if (wheel) return { package: wheel[1]!, spec: `${wheel[1]}==${wheel[2]}` };
  return undefined;
}

/** Name part of a conda or pip requirement (`conda-forge::numpy>=1.2` -> numpy). */
export function specName(spec: string): string {
  const s = spec.trim().replace(/^.*::/, '');
  return /^[A-Za-z0-9_][A-Za-z0-9_.+-]*?(?=$|[\s=<>!~[(@;,*])/.exec(s)?.[0] ?? s.split(/\s/)[0]!;
}

/** True when a spec names a package without any version or build constraint. */
export function isBareSpec(spec: string): boolean {
  const s = spec.trim().replace(/^.*::/, '');
  return s.slice(specName(s).length).replace(/[\s*=]/g, '') === '';
}

/** The version a spec asks for (`numpy==1.11.3=py36_0` -> 1.11.3, `mkl=2022.2.1*` -> 2022.2.1). */
export function requestedVersion(spec: string | undefined): string | undefined {
  if (!spec) return undefined;
  const s = spec.trim().replace(/^.*::/, '');
  const rest = s.slice(specName(s).length).replace(/^[\s=<>!~]+/, '');
  const v = rest.split(/[\s=,|]/)[0]?.replace(/[.*]+$/, '');
  return v && /^[0-9]/.test(v) ? v : undefined;
}

// ---------------------------------------------------------------------------------------------
// rules, in precedence order

/** The adapter's own kill: nothing else in the log is the cause. */
const ownTimeout: Rule = (lines) => {
  const i = findLast(lines, new RegExp(`^${TIMEOUT_PREFIX} `), lines.length - 1);
  if (i < 0) return undefined;
  // what the call was doing when it was killed: the last few lines of output
  const before: number[] = [];
  for (let j = i - 1; j >= 0 && before.length < 6; j--)
    if (lines[j]!.trim() && !NOISE.test(lines[j]!)) before.unshift(j);
  return { class: 'timeout', excerpt: [...before, i].map((k) => clip(lines[k]!)) };
};

/** conda >= 4.7 refuses the pre-link scripts of pre-4.3 ("legacy") noarch packages (conda/conda#8701). */
const legacyNoarch: Rule = (lines) => {
  const i = find(lines, /pre-link script failed for package (\S+)/);
  if (i < 0) return undefined;
  const dist = /pre-link script failed for package (\S+)/.exec(lines[i]!)![1]!;
  const spec = dist.replace(/^.*::/, '');
  return {
    class: 'unknown',
    legacyNoarch: true,
    package: distName(spec),
    spec,
    excerpt: block(lines, errorStart(lines, i), 8),
  };
};

/** Lines that say pip moved on from a clone, so a later `fatal:` is not about it. */
const PIP_NEXT_STEPS = [
  'Resolved ',
  'Collecting ',
  'Building wheel',
  'Preparing metadata',
  'Installing collected',
  'Requirement already satisfied',
  String.raw`Running setup\.py`,
  'Successfully ',
  'Getting requirements',
].join('|');
const CLONE_DONE = new RegExp(String.raw`^\s*(${PIP_NEXT_STEPS})`);
/** pip reporting that a git clone it ran failed, or git missing / the ref unknown. */
const CLONE_FAILED = new RegExp(
  [
    String.raw`\bgit clone\b.*(did not run successfully|failed with error code)`,
    String.raw`errored out with exit status \d+: git clone`,
    "Cannot find command 'git'",
    String.raw`did not match any file\(s\) known to git`,
  ].join('|'),
);

const gitClone: Rule = (lines) => {
  let fail = find(lines, CLONE_FAILED);
  if (fail < 0) {
    // a `fatal:` from git between "Cloning URL" and the next pip step
    for (let c = find(lines, /^\s*Cloning \S+/); c >= 0 && fail < 0; c = find(lines, /^\s*Cloning \S+/, c + 1)) {
      for (let j = c + 1; j < lines.length && !CLONE_DONE.test(lines[j]!); j++) {
        if (/^\s*(fatal:|error: RPC failed)/.test(lines[j]!)) {
          fail = j;
          break;
        }
      }
    }
  }
  if (fail < 0) return undefined;
  let spec: string | undefined;
  let pkg: string | undefined;
  let start = fail;
  const collect = findLast(lines, /\bCollecting\s+(\S+\s*@\s*)?git\+\S+/, fail);
  const cloning = findLast(lines, /^\s*Cloning \S+/, fail);
  const cloneCmd = find(lines, /\bgit clone\s/, Math.max(0, fail - 12), fail + 1);
  if (collect >= 0) {
    const m = /\bCollecting\s+(?:(\S+?)\s*@\s*)?(git\+\S+)/.exec(lines[collect]!)!;
    spec = m[2]!;
    pkg = m[1];
    start = collect;
  } else if (cloning >= 0) {
    spec = /^\s*Cloning (\S+)/.exec(lines[cloning]!)![1]!;
    start = cloning;
  } else if (cloneCmd >= 0) {
    spec = /\bgit clone\s+(?:-\S+\s+)*(\S+)/.exec(lines[cloneCmd]!)?.[1];
    start = cloneCmd;
  }
  if (spec && !pkg) {
    pkg =
      /#egg=([A-Za-z0-9_.-]+)/.exec(spec)?.[1] ??
      spec
        .replace(/[#?].*$/, '')
        .replace(/@[^/@]*$/, '')
        .replace(/\/+$/, '')
        .split('/')
        .pop()
        ?.replace(/\.git$/, '');
  }
  if (fail - start > 10) start = fail;
  const excerpt = block(
    lines,
    start,
    MAX_EXCERPT,
    /^\s*note: This error originates|^\s*Pip subprocess (output|error):|^CondaEnvException/,
  );
  return { class: 'git-clone-failure', spec, package: pkg || undefined, excerpt };
};

/** Retry warnings mention timeouts and connection errors that were recovered from. */
const RECOVERED = /^\s*(WARNING:|warning\s+libmamba|info\s+libmamba)|Retrying \(Retry\(|Could not fetch URL/i;

const networkTimeout: Rule = (lines) => {
  const i = lines.findIndex(
    (l) =>
      /\b(timed out|Timeout was reached|ConnectTimeout(Error)?|ReadTimeout(Error)?|Operation too slow)\b/i.test(l) &&
      !RECOVERED.test(l),
  );
  if (i < 0) return undefined;
  const start = errorStart(lines, i);
  const url = firstUrl(lines, start, i);
  return {
    class: 'timeout',
    url,
    ...(url ? packageFromUrl(url) : {}),
    excerpt: block(lines, start, Math.max(6, i - start + 3)),
  };
};

/** Channel fetch failures that only conda/mamba print. */
const CONDA_FETCH_ERRORS = 'CondaHTTPError|CondaSSLError|UnavailableInvalidChannel|CondaConnectionError|ProxyError';
const CHANNEL_STRONG = new RegExp(
  [
    String.raw`^\s*(${CONDA_FETCH_ERRORS})\b`,
    String.raw`\bHTTP \d{3}( [A-Z][A-Z ]*)? for url\b`,
    String.raw`\bDownload error \(\d+\)`,
    String.raw`Transfer finalized, status: [45]\d\d`,
    'Unable to retrieve repodata',
    'The channel is not accessible or is invalid',
    'Could not load repodata',
  ].join('|'),
);
/** Generic network failures: a channel's unless pip printed them (then it is pip's index). */
const NETWORK_ERRORS = [
  'SSLError',
  'CERTIFICATE_VERIFY_FAILED',
  'certificate verify failed',
  'Could not resolve host',
  "Couldn't resolve host",
  'Failed to connect to',
  'NewConnectionError',
  'Max retries exceeded',
  'Name or service not known',
  'Temporary failure in name resolution',
  'Network is unreachable',
  'Connection refused',
].join('|');
const CHANNEL_WEAK = new RegExp(String.raw`\b(${NETWORK_ERRORS})\b`, 'i');
const PIP_STEPS = [
  'Ran pip subprocess',
  'Pip subprocess (output|error):',
  'Installing pip dependencies',
  'CondaEnvException: Pip',
  String.raw`Collecting (?!package metadata)\S`,
  'Looking in (indexes|links)',
  String.raw`Processing \S`,
  'Requirement already satisfied',
].join('|');
const PIP_CONTEXT = new RegExp(String.raw`^\s*(${PIP_STEPS})`);

const channelUnreachable: Rule = (lines) => {
  let i = lines.findIndex((l) => CHANNEL_STRONG.test(l) && !RECOVERED.test(l));
  if (i < 0) {
    const pipStart = find(lines, PIP_CONTEXT);
    i = find(lines, CHANNEL_WEAK, 0, pipStart >= 0 ? pipStart : lines.length);
    if (i >= 0 && (RECOVERED.test(lines[i]!) || /^\s*ERROR:/.test(lines[i]!))) i = -1;
  }
  if (i < 0) return undefined;
  const start = errorStart(lines, i);
  const url = firstUrl(lines, start, i + 3);
  return { class: 'channel-unreachable', url, ...(url ? packageFromUrl(url) : {}), excerpt: block(lines, start, 8) };
};

/** conda's wrapper around a failed pip run, and pip's own failure lines (in this order). */
const PIP_FAILURE_LINES = [
  String.raw`^\s*Pip subprocess error:`,
  'CondaEnvException: Pip (failed|subcommand failed)',
  // conda 4.3 - 4.6.6 (conda_env/installers/pip.py)
  'CondaValueError: pip returned an error',
  // micromamba / mamba 2 (libmamba runs pip `--no-input --quiet`)
  'pip failed to install packages',
  'No matching distribution found for',
  'Could not find a version that satisfies the requirement',
  'Failed building wheel for',
  String.raw`^\s*(ERROR: )?Failed to build \S`,
  'ERROR: Command errored out',
  'ERROR: Complete output from command',
  'subprocess-exited-with-error',
  'ERROR: Could not install packages due to',
  'ResolutionImpossible',
  'because these package versions have conflicting dependencies',
  'ERROR: Invalid requirement',
  'ERROR: Could not build wheels for',
  'ERROR: Could not open requirements file',
  'requires a different Python',
  String.raw`is not installable\. Neither 'setup\.py' nor 'pyproject\.toml'`,
  'metadata-generation-failed',
  String.raw`Command "python setup\.py egg_info" failed`,
  String.raw`setup\.py.*" failed with error code`,
  'ERROR: No matching distribution',
  'ERROR: Cannot install ',
];
const PIP_MARKERS = new RegExp(PIP_FAILURE_LINES.join('|'));
/** The pip lines worth showing in the excerpt. */
const PIP_KEY_LINES = new RegExp(
  [
    'No matching distribution found',
    'Could not find a version that satisfies',
    'Failed to build ',
    'Failed building wheel for',
    'Could not build wheels',
    'ERROR: Cannot install',
    'ResolutionImpossible',
  ].join('|'),
);

/** Where pip names the requirement it failed on, most explicit first. */
const PIP_PACKAGE: RegExp[] = [
  /No matching distribution found for (\S+)/,
  /Could not find a version that satisfies the requirement (\S+)/,
  /Failed building wheel for (\S+)/,
  /Failed to build (\S+)/,
  /Building wheel for (\S+) \(.*\).*(error|did not run successfully)/,
  /Running setup\.py install for (\S+?)[ .:]+.*error/,
  /Could not build wheels for (\S+?),? which/,
  /pip-install-[^/\\\s]+[/\\]([^/\\\s'"]+)[/\\]setup\.py/,
  /The user requested (\S+)/,
  /ERROR: Cannot install (?:-r \S+(?: \(line \d+\))?(?:,| and) )?(\S+?)(,| and | because)/,
  /ERROR: Invalid requirement: '([^']+)'/,
  /ERROR: Package '([^']+)' requires a different Python/,
];

/** How micromamba and mamba 2 end a failed pip step. */
const LIBMAMBA_PIP = /^\s*(critical|error)\s+libmamba pip failed to install packages/;

const pipFailure: Rule = (lines) => {
  const first = find(lines, PIP_MARKERS);
  if (first < 0) return undefined;
  let spec: string | undefined;
  for (const re of PIP_PACKAGE) {
    const i = find(lines, re);
    if (i >= 0) {
      spec = re.exec(lines[i]!)![1]!.replace(/[.,;:'"]+$/, '');
      break;
    }
  }
  if (!spec) {
    // fall back to the last requirement pip started on before failing
    const c = findLast(lines, /^\s*Collecting (\S+)/, first);
    if (c >= 0) spec = /^\s*Collecting (\S+)/.exec(lines[c]!)![1]!;
  }
  const errSection = find(lines, /^\s*Pip subprocess error:/);
  let start = errSection >= 0 ? errSection : first;
  if (errSection < 0 && LIBMAMBA_PIP.test(lines[first]!)) {
    // libmamba ran pip --quiet: pip's own error lines just above its last line are the explanation
    const own = find(lines, /^\s*(ERROR|error):/, first - 20, first);
    if (own >= 0) start = own;
  }
  const keys: number[] = [];
  lines.forEach((l, i) => {
    if (PIP_KEY_LINES.test(l)) keys.push(i);
  });
  return {
    class: 'pip-failure',
    spec,
    package: spec ? specName(spec) : undefined,
    excerpt: pick(lines, keys, start, /^CondaEnvException: Pip/),
  };
};

interface Item {
  spec: string;
  line: number;
}

/** `  - spec` items after a header line, until the list ends. */
function listItems(lines: string[], header: number, stop = /^\s*Current channels:/): Item[] {
  const items: Item[] = [];
  for (let j = header + 1; j < lines.length; j++) {
    const l = lines[j]!;
    if (stop.test(l)) break;
    const m = /^\s*-\s+(\S.*?)\s*$/.exec(l);
    if (m) items.push({ spec: m[1]!, line: j });
    else if (l.trim() !== '') break;
  }
  return items;
}

const MISSING_HEADERS =
  /^\s*ResolvePackageNotFound:|not available from current channels|Packages? missing in current .*channels/;
const SOLVER_HEADER =
  /LibMambaUnsatisfiableError|Encountered problems while solving|Could not solve for environment specs|^\s*Problem:/i;

const missing: Rule = (lines) => {
  const listed: Item[] = [];
  let header = -1;
  for (let h = find(lines, MISSING_HEADERS); h >= 0; h = find(lines, MISSING_HEADERS, h + 1)) {
    if (header < 0) header = h;
    listed.push(...listItems(lines, h));
  }
  const requested: Item[] = [];
  const typos: Item[] = [];
  lines.forEach((l, i) => {
    const r = /nothing provides requested (.+?)\s*$/.exec(l);
    if (r) requested.push({ spec: r[1]!, line: i });
    const t = /^[\s│├└─|`-]*(\S.*?)\s+does not exist \(perhaps a typo or a missing channel\)/.exec(l);
    if (t) typos.push({ spec: t[1]!, line: i });
  });
  const pool = [...listed, ...requested];
  let cls: FailureClass;
  let item: Item;
  if (pool.length > 0) {
    // a bare name among the specs means a package is missing altogether (README borderline rule)
    const bare = pool.find((p) => isBareSpec(p.spec));
    cls = bare ? 'missing-package' : 'missing-version';
    item = bare ?? pool[0]!;
  } else if (typos.length > 0) {
    // libmamba's "does not exist (perhaps a typo ...)" is said of a requested name it cannot find
    cls = 'missing-package';
    item = typos[0]!;
  } else {
    return undefined;
  }
  const first = Math.min(...[...pool, ...typos].map((p) => p.line));
  let start = listed.length > 0 && header >= 0 ? header : findLast(lines, SOLVER_HEADER, first, first - 6);
  if (start < 0) start = first;
  const excerpt = block(
    lines,
    start,
    MAX_EXCERPT,
    /^\s*(Current channels:|To search for alternate channels|Note: you may need to restart)/,
  );
  return { class: cls, spec: item.spec, package: specName(item.spec), excerpt };
};

/** The classic solver's and libmamba/libsolv's ways of saying the specs cannot be solved. */
const UNSAT_LINES = [
  'UnsatisfiableError',
  'Could not solve for environment specs',
  'were found to be incompatible',
  'were found to be in conflict',
  'but none of the providers can be installed',
  String.raw`nothing provides \S.* needed by`,
  'is uninstallable because',
  'conflicts with any installable versions',
  'excluded by strict repo priority',
  'Dependency missing in current',
  'Encountered problems while solving',
  'cannot install both',
  'Found conflicts!',
];
const UNSAT_MARKERS = new RegExp(UNSAT_LINES.join('|'), 'i');
/** Where the solver's explanation starts. */
const UNSAT_START = new RegExp(
  [
    String.raw`^\s*(UnsatisfiableError|LibMambaUnsatisfiableError)\b`,
    'Encountered problems while solving',
    String.raw`^\s*Problem:`,
    'Could not solve for environment specs',
  ].join('|'),
  'i',
);

const unsatisfiable: Rule = (lines) => {
  const first = find(lines, UNSAT_MARKERS);
  if (first < 0) return undefined;
  let start = find(lines, UNSAT_START);
  if (start < 0) start = first;
  let pkg: string | undefined;
  let spec: string | undefined;
  for (let i = Math.min(start, first); i < lines.length && !pkg; i++) {
    const l = lines[i]!;
    let m: RegExpExecArray | null;
    if ((m = /package (\S+) requires (.+?), but none of the providers can be installed/.exec(l))) {
      pkg = distName(m[1]!);
      spec = m[2]!.trim();
    } else if ((m = /nothing provides (.+?) needed by (\S+)/.exec(l))) {
      pkg = distName(m[2]!);
      spec = m[1]!.trim();
    } else if ((m = /^\s*Package (\S+) conflicts for:/.exec(l))) {
      pkg = m[1]!;
    } else if ((m = /package (\S+) is excluded by strict repo priority/.exec(l))) {
      pkg = distName(m[1]!);
    } else if ((m = /^[\s│├└─]*(\S+)\s.*?\b(is uninstallable|is not installable|cannot be installed)\b/.exec(l))) {
      pkg = specName(m[1]!);
    } else if ((m = /^\s*-\s+(\S+?)\s*->\s*(\S.*?)\s*$/.exec(l)) && i > start) {
      pkg = specName(m[1]!);
      spec = m[2]!;
    }
  }
  return { class: 'unsatisfiable', package: pkg, spec, excerpt: block(lines, start, MAX_EXCERPT) };
};

/** Anything else: conda's exception line (or libmamba's error line) and what follows it. */
const ERROR_LINE = /^\s*[A-Z]\w*(Error|Exception)\b[^:]*:|^\s*(critical|error)\s+libmamba\b|^\s*(ERROR|Error|fatal):/;

function unknown(lines: string[]): Hit {
  const i = find(lines, ERROR_LINE);
  let excerpt: string[];
  if (i >= 0) excerpt = block(lines, i);
  else {
    const tail = lines
      .map((l, k) => k)
      .filter((k) => lines[k]!.trim() !== '' && !NOISE.test(lines[k]!))
      .slice(-10);
    excerpt = tail.map((k) => clip(lines[k]!));
  }
  const corrupt = find(lines, /The package for (\S+) located at/);
  const pkg = corrupt >= 0 ? /The package for (\S+) located at/.exec(lines[corrupt]!)![1] : undefined;
  return { class: 'unknown', package: pkg, excerpt };
}

const RULES: Rule[] = [
  ownTimeout,
  legacyNoarch,
  gitClone,
  networkTimeout,
  channelUnreachable,
  pipFailure,
  missing,
  unsatisfiable,
];

/** Classify a failed call's output (stdout + stderr, or a whole per-env log). */
export function classify(log: string): ClassificationDetail {
  const lines = toLines(log);
  let hit: Hit | undefined;
  for (const rule of RULES) if ((hit = rule(lines))) break;
  hit ??= unknown(lines);
  // key order is what `classify` prints: the verdict first, the excerpt last
  return {
    class: hit.class,
    ...(hit.package ? { package: hit.package } : {}),
    ...(hit.spec ? { spec: hit.spec } : {}),
    ...(hit.url ? { url: hit.url } : {}),
    ...(hit.legacyNoarch ? { legacyNoarch: true } : {}),
    excerpt: hit.excerpt,
  };
}

/**
 * Does the log show a failure at all? False for a log where no rule matches and no line reads as an error
 * (a successful run's log): `classify` says so instead of naming a class.
 */
export function showsFailure(log: string): boolean {
  const lines = toLines(log);
  return RULES.some((rule) => rule(lines) !== undefined) || find(lines, ERROR_LINE) >= 0;
}

// ---------------------------------------------------------------------------------------------
// hints (docs/classify.md)

function listVersions(available: string[], max = 12): string {
  const sorted = sortVersions(available);
  if (sorted.length <= max) return sorted.join(', ');
  return `${sorted.slice(-max).join(', ')} (and ${sorted.length - max} older)`;
}

/** One-line remediation for a classified failure, as shown in the report. */
/** Lines of a pip failure that carry no text of their own. */
const PIP_FRAME = new RegExp(
  String.raw`^\s*(Pip subprocess error:|CondaEnvException: Pip (failed|subcommand failed)|failed|` +
    String.raw`critical libmamba pip failed to install packages|)\s*$`,
);

/**
 * A failure as the report may show it: no text pip read from a file unless the spec itself wrote it. A pip
 * `-r FILE` line makes pip quote FILE's lines in its errors (`Invalid requirement: '<line>'`, `No matching
 * distribution found for <line>`); a spec that reads a requirements file keeps only the requirement names it
 * wrote itself and excerpt lines that quote only those, and no spec shows a quoted invalid requirement it did
 * not write.
 */
export function confineToSpec(c: ClassificationDetail, spec: EnvSpec): ClassificationDetail {
  if (c.class !== 'pip-failure') return c;
  const known = new Set<string>();
  for (const p of spec.pip) {
    known.add(p.text);
    if (p.name) known.add(normalizePipName(p.name));
  }
  for (const d of spec.dependencies) known.add(d.text).add(d.spec.name);
  const isKnown = (s: string) => known.has(s) || known.has(normalizePipName(specName(s)));
  const readsFiles = spec.pip.some((p) => p.kind === 'requirements');
  const hidden = '(a pip message quoting a line of a file the spec reads: not shown)';
  const excerpt = c.excerpt.map((line) => {
    const quoted = /Invalid requirement: '([^']*)'/.exec(line)?.[1];
    if (quoted !== undefined && !isKnown(quoted)) return hidden;
    if (!readsFiles || PIP_FRAME.test(line)) return line;
    const tokens = line.match(/[A-Za-z0-9_.\-\[\]=<>!~,]+/g) ?? [];
    return tokens.some((t) => t.length > 1 && isKnown(t)) ? line : hidden;
  });
  const { spec: s, package: pkg, ...rest } = c;
  const keep = s !== undefined && isKnown(s);
  return { ...rest, ...(keep ? { spec: s } : {}), ...(keep && pkg ? { package: pkg } : {}), excerpt };
}

/** The hint for a package or version the channels lack. */
function missingHint(
  c: Classification & Partial<ClassificationDetail>,
  pkg: string | undefined,
  what: string | undefined,
): string {
  switch (c.class) {
    case 'missing-package': {
      const requested = c.spec && c.spec !== pkg ? ` (requested as '${c.spec}')` : '';
      return (
        `package ${pkg ? `'${pkg}'` : '(see excerpt)'}${requested} is in none of the configured channels: ` +
        "check the name for a typo, or add the channel that has it to the spec's channels and to [conda] channels"
      );
    }
    case 'missing-version': {
      const req = requestedVersion(c.spec);
      const head = req && pkg ? `version ${req} of ${pkg}` : what ? `'${what}'` : 'the requested version';
      if (c.available === undefined) {
        return (
          `${head} is not in the channel (exported pins often exist only for the platform they were made on); ` +
          `run \`conda search ${pkg ?? 'NAME'}\` to list what is available and pin one of those`
        );
      }
      if (c.available.length === 0) {
        return `${head} is not in the channel, and no version of ${pkg ?? 'it'} is: check the name and the channels`;
      }
      const near = c.nearest ?? (req ? nearestVersion(req, c.available) : undefined);
      const nearest = near ? `; nearest ${near}` : '';
      return (
        `${head} is not in the channel; available: ${listVersions(c.available)}${nearest}; ` +
        'run `conda-gitops fix --accept-nearest` to pin it'
      );
    }
    default:
      return '';
  }
}

/** `; conda also named: a, b` for the other specs a not-found error listed in the excerpt, or ''. */
function alsoMissing(c: Partial<ClassificationDetail> & { spec?: string }): string {
  const lines = c.excerpt ?? [];
  const header = find(lines, MISSING_HEADERS);
  const others = header < 0 ? [] : listItems(lines, header).filter((i) => i.spec !== c.spec);
  return others.length ? `; conda also named: ${others.map((i) => i.spec).join(', ')}` : '';
}

/** The refusal state/activation.ts words (`<prefix>/etc/conda/activate.d is a symlink in a built prefix: ...`). */
const UNSAFE_PREFIX = /(\S+) is (a symlink|not a directory) in a built prefix/;

/** unsafe-prefix: what the build planted (the path inside the prefix) and what the env owner does about it. */
function unsafePrefixHint(excerpt: string[]): string {
  const m = excerpt.map((l) => UNSAFE_PREFIX.exec(l)).find((x) => x);
  // the build directory's own path says nothing to the owner: the part inside the prefix does (etc/conda/...)
  const inside = m ? (/\/(etc\/.*)$/.exec(m[1]!)?.[1] ?? m[1]!) : undefined;
  const what = m ? `${inside} is ${m[2]}` : 'a path the tool writes into is a symlink';
  return (
    `${what} in the built env: something its build ran (a pip build backend or a package's post-link script) ` +
    'put it where conda-gitops writes the activation scripts of `variables:`, and nothing was written through ' +
    'it; remove the package or pip entry that creates it from the spec, then push'
  );
}

export function hintFor(c: Classification & Partial<ClassificationDetail>): string {
  const pkg = c.package ?? (c.spec ? specName(c.spec) : undefined);
  const what = c.spec ?? pkg;
  if (c.class === 'missing-package' || c.class === 'missing-version') return missingHint(c, pkg, what) + alsoMissing(c);
  switch (c.class) {
    case 'unsatisfiable':
      return (
        `the specs cannot be solved together${pkg ? ` (${pkg}${c.spec ? ` needs ${c.spec}` : ''})` : ''}: ` +
        'relax the pins involved, and drop build strings from exported specs ' +
        '(name=version=build rarely solves on another conda or platform)'
      );
    case 'pip-failure':
      return (
        `pip could not install ${what ? `'${what}'` : 'a pip entry'}: ` +
        'check that the version exists on the index or wheelhouse; ' +
        'if the channel has it as a conda package, move it to the conda section, ' +
        'and if it is listed in both sections, drop it from pip'
      );
    case 'git-clone-failure':
      return (
        `git could not clone ${what ? `'${what}'` : 'a git+ pip entry'}: ` +
        'check the URL and the @ref, that git is installed, and that the runner can reach the host ' +
        '(git entries are installed after create)'
      );
    case 'channel-unreachable':
      return (
        `a channel could not be fetched${c.url ? ` (${c.url})` : ''}: ` +
        "check the channel URL and the runner's network, proxy and SSL settings, then re-run"
      );
    case 'timeout':
      return (
        `timed out${c.url ? ` fetching ${c.url}` : ''}: ` +
        "re-run; if it keeps happening, raise the timeout or check the network and the channel's mirror"
      );
    case 'test-failure':
      return (
        "the env's own test (env-specs/NAME.test.sh or .py) failed: read the excerpt for the failing line, " +
        'run the test against the build, then fix the env or the test'
      );
    case 'unsafe-prefix':
      return unsafePrefixHint(c.excerpt);
    case 'unknown':
      if (c.legacyNoarch) {
        return (
          `${pkg ?? 'a package'} is a legacy noarch package whose pre-link script fails on this conda: ` +
          'list it under [legacy-noarch] in inventory.ini so it is installed on its own after create'
        );
      }
      return 'unrecognised failure: read the excerpt and the full log';
  }
}
