/**
 * Solving with rattler (real MatchSpec/version semantics), and turning failures into the text the
 * played conda version prints. rattler is imported lazily: it costs ~150 ms, and only solving needs it.
 */
import { setFlagsFromString } from 'node:v8';
import type { Channel } from './channels.js';
import { channelUrls, PLATFORM } from './channels.js';
import { atLeast, repoRequire, type Ctx } from './context.js';
import { CondaError } from './errors.js';
import { globMatch, parseSpec, solverText, type Spec } from './matchspec.js';
import type { Index, IndexedRecord } from './repodata.js';

type Rattler = typeof import('@conda-org/rattler');

const FAKE_HOST = 'http://fakechannel.invalid';
/** Virtual packages a linux-64 machine provides; conda satisfies them from the system, not a channel. */
const VIRTUAL = /^__(glibc|unix|linux|archspec)\b/;

const fakeBase = (ch: Channel): string => FAKE_HOST + new URL(ch.url).pathname.replace(/\/+$/, '');

let rattler: Rattler | undefined;
let served: Index | undefined;

/**
 * rattler fetches channels with the global fetch and does not take file:// URLs: each file channel is
 * offered as http://fakechannel.invalid/<path> and answered from the repodata already read from disk.
 */
export async function loadRattler(ctx: Ctx, index?: Index): Promise<Rattler> {
  if (index) served = index;
  if (rattler) return rattler;
  const orig = globalThis.fetch;
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const u = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!u.startsWith(FAKE_HOST)) return orig(input, init);
    const sub = served?.subdirs.find((s) => u === `${fakeBase(s.channel)}/${s.subdir}/repodata.json`);
    const r = sub
      ? new Response(JSON.stringify(withoutVirtualDeps(sub.repodata)), { status: 200 })
      : new Response('', { status: 404 });
    Object.defineProperty(r, 'url', { value: u }); // rattler reads response.url
    return r;
  };
  // One short solve per process: V8's optimising tier-up of the 3 MB module would cost more CPU than it saves.
  setFlagsFromString('--liftoff-only');
  // the CommonJS build reads the .wasm file; the ESM build decodes a 4 MB base64 string (~2.5x slower to load)
  rattler = repoRequire(ctx)('@conda-org/rattler') as Rattler;
  return rattler;
}

function withoutVirtualDeps<
  T extends {
    packages: Record<string, { depends?: string[] }>;
    'packages.conda'?: Record<string, { depends?: string[] }>;
  },
>(rd: T): T {
  const strip = (t: Record<string, { depends?: string[] }> | undefined) =>
    t &&
    Object.fromEntries(
      Object.entries(t).map(([k, r]) => [k, { ...r, depends: (r.depends ?? []).filter((d) => !VIRTUAL.test(d)) }]),
    );
  return { ...rd, packages: strip(rd.packages), 'packages.conda': strip(rd['packages.conda']) ?? {} };
}

/** Does a channel record satisfy a spec? (name glob, version via rattler's VersionSpec, build glob, channel) */
export function matches(r: Rattler, spec: Spec, rec: IndexedRecord): boolean {
  if (!globMatch(spec.name, rec.name)) return false;
  if (spec.channel && spec.channel !== rec.channel.name && spec.channel !== rec.channel.url) return false;
  if (spec.build && !globMatch(spec.build, rec.build)) return false;
  if (!spec.version) return true;
  let vs: InstanceType<Rattler['VersionSpec']>;
  try {
    vs = new r.VersionSpec(spec.version, 'lenient');
  } catch (e) {
    throw new CondaError('InvalidMatchSpec', `Invalid spec '${spec.text}': ${String(e)}`);
  }
  try {
    return vs.matches(new r.Version(rec.version));
  } catch {
    return false;
  }
}

export type SolveKind = 'env-create' | 'create' | 'install';

export interface SolveRequest {
  specs: string[];
  index: Index;
  kind: SolveKind;
}

/** Solve; on failure throw the conda error the played version would print. */
export async function solve(ctx: Ctx, req: SolveRequest): Promise<IndexedRecord[]> {
  const r = await loadRattler(ctx, req.index);
  const specs = req.specs.map(parseSpec);
  const missingPkg = specs.filter((s) => !req.index.records.some((rec) => globMatch(s.name, rec.name)));
  const missingVer = specs.filter(
    (s) => !missingPkg.includes(s) && !req.index.records.some((rec) => matches(r, s, rec)),
  );
  if (missingPkg.length || missingVer.length) throw missingError(ctx, req, missingPkg, missingVer);

  const channelUrls = [...new Set(req.index.channels.map(fakeBase))];
  let solved: Awaited<ReturnType<Rattler['simpleSolve']>>;
  try {
    solved = await r.simpleSolve(specs.map(solverText), channelUrls, [PLATFORM, 'noarch'], []);
  } catch (e) {
    throw unsatisfiableError(ctx, r, req, specs, String(e));
  }
  return solved.map((p) => {
    const rec =
      req.index.records.find((x) => `${fakeBase(x.channel)}/${x.subdir}/${x.fn}` === p.url) ??
      req.index.records.find((x) => x.fn === p.filename && x.name === p.packageName && x.subdir === p.subdir);
    if (!rec) throw new Error(`solver returned a package the index does not have: ${p.url}`);
    return rec;
  });
}

/** How conda 4.x prints a requested spec in PackagesNotFoundError / ResolvePackageNotFound lists. */
function classicText(s: Spec): string {
  const t = s.text.replace(/\s+#.*$/, '').trim();
  if (s.build && s.version?.startsWith('==')) return `${s.name}${s.version}=${s.build}`;
  const fuzzy = t.match(/^([^=<>!~\s]+)=([^=*\s]+)$/);
  return fuzzy ? `${fuzzy[1]}=${fuzzy[2]}*` : t;
}

export function packagesNotFound(specs: string[], channels: Channel[]): CondaError {
  const urls = channelUrls(channels);
  return new CondaError(
    'PackagesNotFoundError',
    'The following packages are not available from current channels:\n\n' +
      `${specs.map((s) => `  - ${s}`).join('\n')}\n\n` +
      `Current channels:\n\n${urls.map((u) => `  - ${u}`).join('\n')}\n\n` +
      `To search for alternate channels that may provide the conda package you're\nlooking for, navigate to\n\n` +
      `    https://anaconda.org\n\nand use the search bar at the top of the page.\n`,
    { packages: specs, channel_urls: urls },
  );
}

/**
 * conda 4.3.22 and older (conda/exceptions.py NoPackagesFoundError): `Package missing in current linux-64 channels:`,
 * `Packages` / `Dependency` / `Dependencies` by count and kind. Raised by `env create`; create/install rewrap it.
 */
function noPackagesFound(chains: string[], dependency: boolean): CondaError {
  const what = dependency
    ? chains.length > 1
      ? 'Dependencies'
      : 'Dependency'
    : chains.length > 1
      ? 'Packages'
      : 'Package';
  return new CondaError(
    'NoPackagesFoundError',
    `${what} missing in current ${PLATFORM} channels: \n${chains.map((s) => `  - ${s}`).join('\n')}\n`,
    { pkgs: chains },
  );
}

/** The classic solver's `env create` (not rewrapped by conda/cli/install.py): 4.3.23 up to the libmamba default. */
const classicEnvCreate = (ctx: Ctx, req: SolveRequest): boolean =>
  req.kind === 'env-create' && atLeast(ctx, '4.3.23') && !atLeast(ctx, '23.10');

function missingError(ctx: Ctx, req: SolveRequest, missingPkg: Spec[], missingVer: Spec[]): CondaError {
  const all = [...missingPkg, ...missingVer];
  if (atLeast(ctx, '23.10')) {
    // conda-libmamba-solver (solver.py _maybe_raise_for_problems): "nothing provides requested" and "does not
    // exist" problems are not conflicts: PackagesNotFoundError, for a missing name and a missing version alike
    return packagesNotFound(
      all.map((s) => s.text.trim()),
      req.index.channels,
    );
  }
  if (req.kind === 'env-create' && !atLeast(ctx, '4.3.23')) return noPackagesFound(all.map(classicText), false);
  if (classicEnvCreate(ctx, req)) {
    const specs = all.map(classicText);
    return new CondaError('ResolvePackageNotFound', `\n${specs.map((s) => `  - ${s}`).join('\n')}\n`, {
      bad_deps: specs.map((s) => [s]),
    });
  }
  if (!atLeast(ctx, '4.3.23')) {
    // conda/exceptions.py NoPackagesFoundError at 4.3.22: "Package" for one (real conda 4.3.22, probe
    // PackagesNotFoundError, test/real-conda/probes.test.ts)
    return new CondaError(
      'PackageNotFoundError',
      `${all.length > 1 ? 'Packages' : 'Package'} missing in current ${PLATFORM} channels: \n` +
        `${all.map((s) => `  - ${s.text.trim()}`).join('\n')}\n`,
    );
  }
  if (!atLeast(ctx, '4.4')) {
    // conda/exceptions.py PackageNotFoundError at 4.3.31 (a template without dals: its indentation is kept)
    const dash = (xs: string[]) => xs.map((x) => `\n  - ${x}`).join('');
    return new CondaError(
      'PackageNotFoundError',
      `Packages missing in current channels:\n            ${dash(all.map((s) => s.text.trim()))}\n\n` +
        `We have searched for the packages in the following channels:\n            ` +
        `${dash(channelUrls(req.index.channels))}\n            \n`,
    );
  }
  return packagesNotFound(all.map(classicText), req.index.channels);
}

interface Conflict {
  requested: Spec;
  rec: IndexedRecord;
  dep: string;
  other: Spec;
}

/**
 * Find why a solve failed: a requested package whose dependency clashes with another request, or needs a package
 * no channel has.
 */
function analyse(
  r: Rattler,
  index: Index,
  specs: Spec[],
): { conflicts: Conflict[]; missingDeps: Array<{ rec: IndexedRecord; dep: string }> } {
  const conflicts: Conflict[] = [];
  const missingDeps: Array<{ rec: IndexedRecord; dep: string }> = [];
  for (const a of specs) {
    for (const rec of index.records.filter((x) => matches(r, a, x))) {
      for (const dep of rec.depends.filter((d) => !VIRTUAL.test(d))) {
        let d: Spec;
        try {
          d = parseSpec(dep);
        } catch {
          continue;
        }
        const candidates = index.records.filter((x) => x.name === d.name);
        if (!candidates.length) {
          missingDeps.push({ rec, dep });
          continue;
        }
        for (const b of specs.filter((s) => s !== a && s.name === d.name)) {
          if (!candidates.some((x) => matches(r, d, x) && matches(r, b, x)))
            conflicts.push({ requested: a, rec, dep, other: b });
        }
      }
    }
  }
  return { conflicts, missingDeps };
}

const dist = (rec: IndexedRecord): string => `${rec.name}-${rec.version}-${rec.build}`;
const bracket = (s: Spec): string => (s.version ? `${s.name}[version='${s.version}']` : s.name);
const depBracket = (dep: string): string => {
  try {
    return bracket(parseSpec(dep));
  } catch {
    return dep;
  }
};

function unsatisfiableError(ctx: Ctx, r: Rattler, req: SolveRequest, specs: Spec[], solverMessage: string): CondaError {
  const { conflicts, missingDeps } = analyse(r, req.index, specs);
  const tree = solverMessage.replace(/^Cannot solve the request because of:\s*/, '').trimEnd();
  if (atLeast(ctx, '23.10')) {
    const problems = [
      ...missingDeps.map((m) => `  - nothing provides ${m.dep} needed by ${dist(m.rec)}`),
      ...conflicts.map(
        (c) => `  - package ${dist(c.rec)} requires ${c.dep}, but none of the providers can be installed`,
      ),
    ];
    if (!problems.length) problems.push(`  - ${tree.split('\n')[0]}`);
    return new CondaError(
      'LibMambaUnsatisfiableError',
      `Encountered problems while solving:\n${[...new Set(problems)].join('\n')}\n\n` +
        `Could not solve for environment specs\nThe following packages are incompatible\n${tree}\n`,
    );
  }
  if (!atLeast(ctx, '4.7')) {
    if (missingDeps.length && !conflicts.length) {
      const deps = [...new Set(missingDeps.map((m) => `${m.rec.name} -> ${m.dep}`))];
      if (req.kind === 'env-create' && !atLeast(ctx, '4.3.23')) return noPackagesFound(deps, true);
      return new CondaError('ResolvePackageNotFound', `\n${deps.map((d) => `  - ${d}`).join('\n')}\n`, {
        bad_deps: deps.map((d) => [d]),
      });
    }
    const involved = conflicts.length
      ? [...new Set(conflicts.flatMap((c) => [c.requested.text.trim(), c.other.text.trim()]))]
      : specs.map((s) => s.text.trim());
    return new CondaError(
      'UnsatisfiableError',
      `The following specifications were found to be in conflict:\n${involved.map((s) => `  - ${s}`).join('\n')}\n` +
        'Use "conda info <package>" to see the dependencies for each package.\n',
    );
  }
  const blocks = new Map<string, Set<string>>();
  const add = (name: string, line: string) => blocks.set(name, (blocks.get(name) ?? new Set()).add(line));
  for (const c of conflicts) {
    add(c.other.name, `${c.requested.name} -> ${depBracket(c.dep)}`);
    add(c.other.name, bracket(c.other));
  }
  for (const m of missingDeps) add(m.dep.split(/[\s=<>!]/)[0], `${m.rec.name} -> ${depBracket(m.dep)}`);
  let body = [...blocks].map(([name, lines]) => `Package ${name} conflicts for:\n${[...lines].join('\n')}`).join('\n');
  if (!body) body = specs.map((s) => bracket(s)).join('\n');
  return new CondaError(
    'UnsatisfiableError',
    'The following specifications were found to be incompatible with each other:\n\n' +
      `Output in format: Requested package -> Available versions\n\n${body}\n`,
  );
}
