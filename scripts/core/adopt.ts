/**
 * What adopt and export decide about an existing installation's envs (pure): which prefixes `conda env list`
 * shows are the installation's own envs, and what the exported specs use (channels, package names, legacy noarch).
 * Reading the installation is engine/adopt.ts; the flows are app/adopt.ts and app/export.ts.
 */
import { basename, dirname, join } from 'node:path';
import type { Problem } from './errors.js';
import type { EnvSpec } from './types.js';
import { ENV_NAME } from './inventory.js';
import { parseSpec } from './spec.js';
import { nameVariants } from './channel-index.js';
import { specFile } from './repo.js';

/** An env adopt or export could not take, and why (written into inventory.ini as a comment, and reported). */
export interface SkippedEnv {
  name: string;
  reason: string;
}

/**
 * Is this prefix one of the installation's own envs? `conda env list` also shows base and every prefix registered
 * in ~/.conda/environments.txt (another installation's, another user's): only the directories of ITS envs/ count,
 * so another user's env of the same name is never adopted or exported.
 */
export function isOwnEnv(prefix: string, installation: string): boolean {
  return dirname(prefix) === join(installation, 'envs');
}

/** A prefix as `conda env list` printed it, and its real path (symlinks resolved). */
export interface ListedPrefix {
  prefix: string;
  real: string;
}

export interface EnvsToAdopt {
  /** the installation's own envs, sorted by name */
  envs: Array<{ name: string; prefix: string }>;
  /** own envs adopt cannot take: a name inventory.ini cannot hold, or a second env of one name */
  skipped: SkippedEnv[];
  /** listed prefixes of another installation or user (base, the installation itself, is left out silently) */
  ignored: string[];
}

/** Which of the prefixes `conda env list` shows for the installation at `root` (a real path) adopt takes. */
export function envsToAdopt(listed: ListedPrefix[], root: string): EnvsToAdopt {
  const found: EnvsToAdopt = { envs: [], skipped: [], ignored: [] };
  for (const { prefix, real } of listed) {
    if (real === root) continue; // base: the installation itself, not an env to replicate
    if (!isOwnEnv(real, root)) {
      found.ignored.push(prefix);
      continue;
    }
    const name = basename(prefix);
    if (!ENV_NAME.test(name)) found.skipped.push({ name, reason: `'${name}' is not a valid env name (${prefix})` });
    else if (found.envs.some((e) => e.name === name))
      found.skipped.push({ name, reason: `a second env named '${name}' at ${prefix}` });
    else found.envs.push({ name, prefix });
  }
  found.envs.sort((a, b) => a.name.localeCompare(b.name));
  return found;
}

/** What the adopted envs' specs use. */
export interface AdoptedSpecs {
  specs: EnvSpec[];
  /** their channels, in order of first use */
  channels: string[];
  /** every conda and pip package name they list, in each spelling a channel may use (core/channel-index.ts) */
  packages: Set<string>;
  /** what parsing the exported specs found */
  problems: Problem[];
}

/** Parse the exported specs (env-specs/NAME.yml as adopt writes them). */
export function readAdoptedSpecs(exported: ReadonlyArray<{ name: string; text: string }>): AdoptedSpecs {
  const read: AdoptedSpecs = { specs: [], channels: [], packages: new Set(), problems: [] };
  for (const x of exported) {
    const parsed = parseSpec(x.text, specFile(x.name), x.name);
    read.problems.push(...parsed.problems);
    if (!parsed.spec) continue;
    for (const c of parsed.spec.channels) if (!read.channels.includes(c)) read.channels.push(c);
    for (const d of parsed.spec.dependencies) for (const n of nameVariants(d.spec.name)) read.packages.add(n);
    for (const p of parsed.spec.pip) if (p.name) for (const n of nameVariants(p.name)) read.packages.add(n);
    read.specs.push(parsed.spec);
  }
  return read;
}

/** inventory.ini's `channels` for an adopted installation: the specs' own (not nodefaults), else the user's rc's. */
export function adoptedChannels(specChannels: string[], rcChannels: string[]): string[] {
  const channels = specChannels.filter((c) => c !== 'nodefaults');
  return channels.length ? channels : rcChannels.length ? rcChannels : ['defaults'];
}

/**
 * [legacy-noarch] of an adopted installation: the installed legacy noarch packages (engine/legacy-noarch.ts) that
 * the adopted specs use, sorted.
 */
export function adoptedLegacyNoarch(installed: Iterable<string>, packages: Set<string>): string[] {
  return [...new Set([...installed].filter((n) => packages.has(n.toLowerCase())))].sort();
}

/** The legacy noarch packages an env has that [legacy-noarch] does not list (export warns of each), sorted. */
export function unlistedLegacyNoarch(installed: Iterable<string>, listed: ReadonlyArray<{ name: string }>): string[] {
  const known = new Set(listed.map((l) => l.name.toLowerCase()));
  return [...installed].sort().filter((n) => !known.has(n.toLowerCase()));
}
