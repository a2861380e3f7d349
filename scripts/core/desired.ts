/** The desired state of the installation, derived from a valid repo. Pure. */
import type { EnvSpec, Frontend, Inventory } from './types.js';
import type { Repo } from './repo.js';
import { buildId, legacyNoarchOf } from './buildid.js';
import { TEST_PROCEDURE_VERSION, verdictKey } from './verdict.js';

export interface DesiredEnv {
  name: string;
  spec: EnvSpec;
  buildId: string;
  legacyNoarch: string[];
  /** listed in [kernels]: its test must import ipykernel */
  kernel: boolean;
  /** the verdict this build needs at this commit (build id + test scripts + kernel + procedure) */
  verdictKey: string;
  /**
   * Other keys whose PASSING verdict also covers this env: a verdict taken as a kernel (ipykernel imported)
   * covers the same build and tests without the kernel, so removing a kernel needs no new test.
   */
  coveredBy?: string[];
}

export interface Desired {
  condaVersion: string;
  frontend: Frontend;
  /** REPLICATE envs only, sorted by name */
  envs: DesiredEnv[];
  kernels: Array<{ name: string; displayName: string }>;
  /** `[conda] allow-failures`: envs a deploy may leave out when they have no passing build */
  allowFailures?: string[];
}

/** One REPLICATE env's desired build: its build id and the verdict key its tests and kernel status imply. */
export function desiredEnv(name: string, spec: EnvSpec, inv: Inventory, tests: string, kernel: boolean): DesiredEnv {
  const id = buildId(spec, inv);
  const key = (asKernel: boolean) =>
    verdictKey({ buildId: id, tests, kernel: asKernel, procedure: TEST_PROCEDURE_VERSION });
  return {
    name,
    spec,
    buildId: id,
    legacyNoarch: legacyNoarchOf(spec, inv),
    kernel,
    verdictKey: key(kernel),
    ...(kernel ? {} : { coveredBy: [key(true)] }),
  };
}

export function desiredState(repo: Repo): Desired {
  const inv = repo.inventory;
  const kernels = new Set(inv.kernels.map((k) => k.name));
  const envs = inv.environments
    .filter((e) => e.mode === 'REPLICATE')
    .map((e) =>
      desiredEnv(e.name, repo.specs.get(e.name)!, inv, repo.testTexts?.get(e.name) ?? '', kernels.has(e.name)),
    )
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    condaVersion: inv.conda.version,
    frontend: inv.conda.frontend,
    envs,
    kernels: inv.kernels.map((k) => ({ name: k.name, displayName: k.displayName })),
    ...(inv.conda.allowFailures ? { allowFailures: inv.conda.allowFailures } : {}),
  };
}
