/**
 * The desired state of the installation, derived from a repository snapshot (core/repo.ts `Repo`). Pure.
 * This module is the only builder of `Desired` and `DesiredEnv`: plan, qa, build, test, deploy, status, kernels,
 * gc and rollback's checks all call `desiredState`, whichever reader (working tree or commit) produced the repo.
 * The architecture test keeps it so (no other module may construct or cast to these types).
 */
import type { EnvSpec, Frontend, Inventory } from './types.js';
import type { Repo } from './repo.js';
import { buildId, legacyNoarchOf } from './buildid.js';
import { replicatedEnvs } from './inventory.js';
import { TEST_PROCEDURE_VERSION, verdictKey } from './verdict.js';

/** A type-only mark: object literals of these types can only be written here. */
declare const built: unique symbol;

export interface DesiredEnv {
  readonly [built]: true;
  name: string;
  spec: EnvSpec;
  buildId: string;
  legacyNoarch: string[];
  /** listed in [kernels]: its test must import ipykernel */
  kernel: boolean;
  /** kernelspecs it ships that [kernels] publishes (`ENV:SPEC`): its test checks each one's runtime */
  kernelSpecs?: string[];
  /** the verdict this build needs at this commit (build id + test scripts + kernel checks + procedure) */
  verdictKey: string;
  /**
   * Other keys whose PASSING verdict also covers this env: a verdict taken as a kernel (ipykernel imported)
   * covers the same build and tests without the kernel, so removing a kernel needs no new test.
   */
  coveredBy?: string[];
}

export interface Desired {
  readonly [built]: true;
  condaVersion: string;
  frontend: Frontend;
  /** REPLICATE envs only, sorted by name */
  envs: DesiredEnv[];
  /** `[kernels]` entries: `name` is the env; `spec` a kernelspec the env ships (`ENV:SPEC = Name`) */
  kernels: Array<{ name: string; displayName: string; spec?: string; line?: number }>;
  /** `[conda] allow-failures`: envs a deploy may leave out when they have no passing build */
  allowFailures?: string[];
}

/** The repository as desiredState reads it: a whole repo, or a pull request's changed envs only. */
export type DesiredSource = Pick<Repo, 'inventory' | 'specs' | 'testTexts'>;

export interface DesiredOptions {
  /**
   * Only these envs (a pull request's changed ones); envs without a parsed spec (broken) are left out.
   * Without it every REPLICATE env is in, and each must have a spec.
   */
  only?: Iterable<string>;
}

/** One REPLICATE env's desired build: its build id and the verdict key its tests and kernel status imply. */
function desiredEnv(
  name: string,
  spec: EnvSpec,
  inv: Inventory,
  tests: string,
  kernel: boolean,
  kernelSpecs: string[],
): DesiredEnv {
  const id = buildId(spec, inv);
  const key = (asKernel: boolean, specs: string[]) =>
    verdictKey({ buildId: id, tests, kernel: asKernel, kernelSpecs: specs, procedure: TEST_PROCEDURE_VERSION });
  const env = {
    name,
    spec,
    buildId: id,
    legacyNoarch: legacyNoarchOf(spec, inv),
    kernel,
    ...(kernelSpecs.length ? { kernelSpecs } : {}),
    verdictKey: key(kernel, kernelSpecs),
    ...(kernel || kernelSpecs.length ? {} : { coveredBy: [key(true, [])] }),
  };
  return env as DesiredEnv;
}

/** The desired state of `repo` (see DesiredOptions for a pull request's subset). */
export function desiredState(repo: DesiredSource, opts: DesiredOptions = {}): Desired {
  const inv = repo.inventory;
  const only = opts.only ? new Set(opts.only) : undefined;
  // an env is a python kernel (its test imports ipykernel) when it is published without a shipped kernelspec
  const kernels = new Set(inv.kernels.filter((k) => !k.spec).map((k) => k.name));
  const shipped = new Map<string, string[]>();
  for (const k of inv.kernels) if (k.spec) shipped.set(k.name, [...(shipped.get(k.name) ?? []), k.spec].sort());
  const envs = replicatedEnvs(inv)
    .filter((e) => !only || (only.has(e.name) && repo.specs.has(e.name)))
    .map((e) => {
      const spec = repo.specs.get(e.name);
      if (!spec) throw new Error(`desiredState: no spec for REPLICATE env '${e.name}'`);
      const specs = shipped.get(e.name) ?? [];
      return desiredEnv(e.name, spec, inv, repo.testTexts?.get(e.name) ?? '', kernels.has(e.name), specs);
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const desired = {
    condaVersion: inv.conda.version,
    frontend: inv.conda.frontend,
    envs,
    kernels: inv.kernels.map((k) => ({
      name: k.name,
      displayName: k.displayName,
      ...(k.spec ? { spec: k.spec } : {}),
      line: k.line,
    })),
    ...(inv.conda.allowFailures ? { allowFailures: inv.conda.allowFailures } : {}),
  };
  return desired as Desired;
}
