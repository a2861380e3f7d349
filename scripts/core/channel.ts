/** Channel names as conda compares them. Pure. */

/**
 * Canonical channel name for comparison: `https://conda.anaconda.org/conda-forge/` -> `conda-forge`, no trailing
 * slash.
 */
export function canonicalChannel(channel: string): string {
  let c = channel.trim().replace(/\/+$/, '');
  const m = /^https?:\/\/conda\.anaconda\.org\/(.+)$/.exec(c);
  if (m) c = m[1];
  // `conda-forge/linux-64` names a subdir of a channel; the channel is what is allowed or not
  c = c.replace(/\/(?:(?:linux|osx|win)-[a-z0-9]+|noarch)$/, '');
  return c.includes('://') ? c : c.toLowerCase(); // channel names are case-insensitive, paths are not
}

/** Is a channel allowed by [conda] channels? `nodefaults` is conda's switch, not a channel. */
export function channelAllowed(channel: string, allowed: string[]): boolean {
  const c = canonicalChannel(channel);
  // `conda-forge/label/main` is a label of the conda-forge channel: same owner, same trust
  const owner = c.includes('://') ? c : c.replace(/\/label\/.*$/, '');
  return c === 'nodefaults' || allowed.some((a) => [c, owner].includes(canonicalChannel(a)));
}
