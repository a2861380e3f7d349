/** The desired state of the installation, derived from a valid repo. Pure. */
import type { EnvSpec, Frontend } from './types.js';
import type { Repo } from './repo.js';
import { buildId, legacyNoarchOf } from './buildid.js';

export interface DesiredEnv {
  name: string;
  spec: EnvSpec;
  buildId: string;
  legacyNoarch: string[];
}

export interface Desired {
  condaVersion: string;
  frontend: Frontend;
  /** REPLICATE envs only, sorted by name */
  envs: DesiredEnv[];
  kernels: Array<{ name: string; displayName: string }>;
}

export function desiredState(repo: Repo): Desired {
  const inv = repo.inventory;
  const envs = inv.environments
    .filter((e) => e.mode === 'REPLICATE')
    .map((e) => {
      const spec = repo.specs.get(e.name)!;
      return { name: e.name, spec, buildId: buildId(spec, inv), legacyNoarch: legacyNoarchOf(spec, inv) };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    condaVersion: inv.conda.version,
    frontend: inv.conda.frontend,
    envs,
    kernels: inv.kernels.map((k) => ({ name: k.name, displayName: k.displayName })),
  };
}
