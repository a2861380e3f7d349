/**
 * Normalisation and the build id (docs/qa.md). A build id is a short sha256 of everything that
 * decides what a build contains, so the same inputs always give the same id and a PR that changes k
 * envs builds exactly k. The scheme is versioned: bumping BUILD_PROCEDURE_VERSION gives every env a
 * new id instead of silently reusing builds made by an older procedure.
 */
import { createHash } from 'node:crypto';
import type { EnvSpec, Inventory, NormalizedSpec } from './types.js';
import { formatMatchSpec } from './matchspec.js';

const BUILD_PROCEDURE_VERSION = 1;
export const BUILD_ID_LENGTH = 12;

const sortedUnique = (xs: string[]) => [...new Set(xs)].sort();

/**
 * Canonical spec: channels deduplicated in order (order is priority for conda), conda deps as canonical
 * MatchSpec text sorted and deduplicated, pip options in order then requirements sorted, variables sorted.
 * Build strings are kept: a build in a spec is the owner's choice, and build-time steps never silently change
 * what gets installed (adopt/export strip the builds that exports add).
 */
export function normalizeSpec(spec: EnvSpec): NormalizedSpec {
  const pipOptions = spec.pip.filter((p) => p.kind === 'option').map((p) => p.text.replace(/\s+/g, ' '));
  const pipReqs = spec.pip.filter((p) => p.kind !== 'option').map((p) => p.text.replace(/\s+/g, ' '));
  return {
    channels: [...new Set(spec.channels)],
    dependencies: sortedUnique(spec.dependencies.map((d) => formatMatchSpec(d.spec))),
    pip: [...new Set(pipOptions), ...sortedUnique(pipReqs)],
    variables: Object.entries(spec.variables).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  };
}

/** The legacy-noarch packages this env uses: they change the build procedure, so they are part of the id. */
export function legacyNoarchOf(spec: EnvSpec, inventory: Inventory): string[] {
  const legacy = new Set(inventory.legacyNoarch.map((l) => l.name));
  return sortedUnique(spec.dependencies.map((d) => d.spec.name).filter((n) => legacy.has(n)));
}

/**
 * Where the installation's conda finds the channels a spec names: the [conda] keys written to its `.condarc` that
 * map a channel name to a URL (custom-channels, channel-alias, default-channels), canonical (custom channels
 * sorted); undefined when none is set. A pull request's QA passes the trusted inventory (core/trust.ts), so the
 * mapping in an id is the one its build ran with: a build made under another mapping is never reused.
 */
export function channelMappingOf(inventory: Inventory): Record<string, unknown> | undefined {
  const { customChannels, channelAlias, defaultChannels } = inventory.conda;
  const custom = Object.entries(customChannels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const mapping = {
    ...(custom.length ? { customChannels: custom } : {}),
    ...(channelAlias ? { channelAlias } : {}),
    ...(defaultChannels?.length ? { defaultChannels } : {}),
  };
  return Object.keys(mapping).length ? mapping : undefined;
}

export function buildIdInputs(spec: EnvSpec, inventory: Inventory) {
  const channelMapping = channelMappingOf(inventory);
  return {
    scheme: BUILD_PROCEDURE_VERSION,
    spec: normalizeSpec(spec),
    condaVersion: inventory.conda.version,
    frontend: inventory.conda.frontend,
    legacyNoarch: legacyNoarchOf(spec, inventory),
    // the bytes of the requirements files it reads (absent when none: build ids of other specs are unchanged)
    ...(spec.requirementDigests ? { requirements: spec.requirementDigests } : {}),
    // the channel mapping of the installation (absent when none is set: build ids of other inventories unchanged)
    ...(channelMapping ? { channelMapping } : {}),
  };
}

/** sha256 of the canonical inputs, first 12 hex digits. */
export function buildId(spec: EnvSpec, inventory: Inventory): string {
  const canonical = JSON.stringify(buildIdInputs(spec, inventory));
  return createHash('sha256').update(canonical).digest('hex').slice(0, BUILD_ID_LENGTH);
}

/** Hash of the normalised spec alone (recorded in build records; changes only when the spec does). */
export function specHash(spec: EnvSpec): string {
  return createHash('sha256')
    .update(JSON.stringify(normalizeSpec(spec)))
    .digest('hex')
    .slice(0, BUILD_ID_LENGTH);
}

// ---------------------------------------------------------------- repair builds

/**
 * A repair build: the same inputs as build `<id>`, rebuilt into a fresh prefix `<id>.rN` beside a build that was
 * changed by hand (`deploy --repair`). Build prefixes never move (conda writes them into scripts), so the fresh
 * build cannot take the tainted one's path; the suffix keeps the id content-addressed (`inputsBuildId`).
 */
const REPAIR_SUFFIX = /\.r([1-9]\d*)$/;

/** `<id>.rN` for repair N of build `<id>`. */
export function repairBuildId(buildId: string, n: number): string {
  return `${inputsBuildId(buildId)}.r${n}`;
}

/** The build id of a build's inputs: `<id>` for `<id>` and for its repairs `<id>.rN`. */
export function inputsBuildId(buildId: string): string {
  return buildId.replace(REPAIR_SUFFIX, '');
}

/** N of a repair build `<id>.rN`; 0 for the original build. */
export function repairNumber(buildId: string): number {
  const m = REPAIR_SUFFIX.exec(buildId);
  return m ? Number(m[1]) : 0;
}

/** The next free repair id of `buildId`, given the build ids (or record/log file names) that exist for its env. */
export function nextRepairId(buildId: string, existing: Iterable<string>): string {
  const base = inputsBuildId(buildId);
  let max = 0;
  for (const e of existing) {
    const id = e.replace(/\.(json|log)$/, '');
    if (inputsBuildId(id) === base) max = Math.max(max, repairNumber(id));
  }
  return repairBuildId(base, max + 1);
}
