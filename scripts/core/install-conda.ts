/**
 * install-conda, the pure parts (docs/admin.md, "Upgrading conda"): where the installer of a version comes from
 * (`[conda] installer`, a path or URL template with `{version}`), the installation's `.condarc` rendered from the
 * inventory (so builds never depend on the runner user's own rc files), and whether `--version` says the version
 * that was asked for. Pure: string arithmetic only.
 */
import type { Inventory } from './types.js';
import { compareCondaVersions } from './conda-version.js';

export type InstallerSource =
  { kind: 'path'; path: string } | { kind: 'url'; url: string; scheme: 'http' | 'https' | 'file' };

/** `[conda] installer` with `{version}` replaced: a local path, or an http(s)/file URL to download first. */
export function installerSource(template: string, version: string): InstallerSource {
  const text = template.split('{version}').join(version);
  const m = /^(https?|file):\/\//i.exec(text);
  if (m) return { kind: 'url', url: text, scheme: m[1]!.toLowerCase() as 'http' | 'https' | 'file' };
  return { kind: 'path', path: text };
}

/** The file name a downloaded installer is saved under (its URL's last part, made safe). */
export function installerFileName(url: string, version: string): string {
  const last =
    url
      .replace(/[?#].*$/, '')
      .replace(/\/+$/, '')
      .split('/')
      .pop() ?? '';
  const safe = last.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '');
  return safe || `conda-installer-${version}.sh`;
}

/** One YAML scalar: JSON strings are YAML, so any path or URL is quoted safely. */
const q = (s: string) => JSON.stringify(s);

/**
 * The installation's `.condarc`, from the inventory's [conda] keys. The channels are the inventory's; the other
 * keys are written only when the inventory sets them (an old conda rejects keys it does not know, e.g. solver).
 */
export function renderCondarc(conda: Inventory['conda']): string {
  const lines = [
    '# Written by `conda-gitops install-conda` from inventory.ini [conda]; changes here are overwritten.',
    'channels:',
    ...conda.channels.map((c) => `  - ${q(c)}`),
  ];
  if (conda.customChannels && Object.keys(conda.customChannels).length) {
    lines.push('custom_channels:');
    for (const [name, url] of Object.entries(conda.customChannels)) lines.push(`  ${q(name)}: ${q(url)}`);
  }
  if (conda.channelAlias) lines.push(`channel_alias: ${q(conda.channelAlias)}`);
  if (conda.defaultChannels?.length)
    lines.push('default_channels:', ...conda.defaultChannels.map((c) => `  - ${q(c)}`));
  if (conda.pkgsDirs?.length) lines.push('pkgs_dirs:', ...conda.pkgsDirs.map((d) => `  - ${q(d)}`));
  if (conda.envsDirs?.length) lines.push('envs_dirs:', ...conda.envsDirs.map((d) => `  - ${q(d)}`));
  // conda < 22.11 has no `solver` key (validation accepts only `classic` there, which is what it does anyway)
  if (conda.solver && !(/^\d+(\.\d+)*$/.test(conda.version) && compareCondaVersions(conda.version, '22.11') < 0))
    lines.push(`solver: ${conda.solver}`);
  return lines.join('\n') + '\n';
}

/**
 * `custom-channels = mpc=https://conda.internal/, lab=file:///srv/chan`: NAME=URL items (already split on commas
 * and spaces) -> a map; the items that do not parse are returned as `bad`.
 */
export function parseCustomChannels(items: readonly string[]): { channels: Record<string, string>; bad: string[] } {
  const channels: Record<string, string> = Object.create(null) as Record<string, string>;
  const bad: string[] = [];
  for (const item of items) {
    const m = /^([A-Za-z0-9_.-]+)=((?:https?|file):\/\/\S+)$/.exec(item);
    if (m) channels[m[1]!] = m[2]!;
    else bad.push(item);
  }
  return { channels, bad };
}

/** A conda version as the inventory schema takes it (`23.11.0`, `4.3`): also what install-conda accepts. */
export const isCondaVersion = (v: string): boolean => /^[0-9]+\.[0-9]+(\.[0-9]+)?$/.test(v);

/** Does `--version` output (already parsed to a version) name the version asked for? `24.1` matches `24.1.0`. */
export function versionMatches(reported: string | undefined, wanted: string): boolean {
  if (!reported) return false;
  const norm = (v: string) => {
    const parts = v.split('.');
    while (parts.length < 3) parts.push('0');
    return parts.join('.');
  };
  return norm(reported) === norm(wanted);
}

/** The last lines of an installer's output, for a message (the whole output is in the log). */
export function outputTail(text: string, lines = 12): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trimEnd())
    .filter(Boolean)
    .slice(-lines);
}

/** SHA-256 hex, 64 digits, compared case-insensitively. */
export function sameDigest(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
