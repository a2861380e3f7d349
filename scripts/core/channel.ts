/** Channel names as conda compares them, and the allow-list check. Pure. */

const SUBDIR = /\/(?:(?:linux|osx|win)-[a-z0-9]+|noarch)$/;
const URL_PARTS = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/]*)(.*)$/;

function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * Canonical channel name for comparison: `https://conda.anaconda.org/conda-forge/` -> `conda-forge`, no trailing
 * slash, no subdir, and a local path as its `file://` URL (conda reads both the same). Only meaningful for a
 * channel without a `channelProblem`.
 */
export function canonicalChannel(channel: string): string {
  let c = channel.trim().replace(/\/+$/, '');
  const m = /^https?:\/\/conda\.anaconda\.org\/(.+)$/i.exec(c);
  if (m) c = m[1]!;
  // `conda-forge/linux-64` names a subdir of a channel; the channel is what is allowed or not
  c = c.replace(SUBDIR, '');
  if (c.startsWith('/')) c = `file://${c}`;
  const url = URL_PARTS.exec(c);
  if (url) return `${url[1]!.toLowerCase()}://${url[2]!.toLowerCase()}${url[3]}`; // paths are case-sensitive
  return c.toLowerCase(); // channel names are case-insensitive
}

/**
 * Why a channel is not a plain channel name, URL or path (undefined when it is one). Refused: `.` and `..`
 * segments (also percent-encoded: `conda-forge/label/../../evil` is the channel `evil`), empty segments, a label
 * that is more than one name (`OWNER/label/NAME`), and URL schemes other than http, https and file.
 */
export function channelProblem(channel: string): string | undefined {
  const c = channel.trim();
  if (!c) return 'empty channel name';
  const url = URL_PARTS.exec(c);
  if (url && !['http', 'https', 'file'].includes(url[1]!.toLowerCase()))
    return `unsupported channel URL scheme '${url[1]}:' (use http, https or file)`;
  if (url && url[2]!.includes('@')) return 'a channel URL must not carry user names or credentials';
  const path = (url ? url[3]! : c).replace(/\/+$/, '');
  const segments = path.split('/');
  for (const [i, raw] of segments.entries()) {
    if (raw === '' && i === 0) continue; // a leading '/': an absolute path
    const s = decoded(raw);
    if (s === '.' || s === '..') return `'${s}' in a channel name: name the channel itself, without '.' or '..'`;
    if (s === '') return "an empty segment ('//') in a channel name";
    if (s.includes('/') || s.includes('\\')) return `an encoded '/' or '\\' in '${raw}'`;
  }
  const canonical = canonicalChannel(c);
  const label = canonical.indexOf('/label/');
  if (label >= 0 && canonical.slice(label + '/label/'.length).includes('/'))
    return 'a label is one name: OWNER/label/NAME';
  return undefined;
}

/** Is a channel allowed by [conda] channels? `nodefaults` is conda's switch, not a channel. */
export function channelAllowed(channel: string, allowed: string[]): boolean {
  if (channelProblem(channel)) return false;
  const c = canonicalChannel(channel);
  if (c === 'nodefaults') return true;
  // `conda-forge/label/main` is a label of the conda-forge channel: same owner, same trust
  const label = /^(.+)\/label\/[^/]+$/.exec(c);
  const owner = label ? label[1]! : c;
  return allowed.some((a) => !channelProblem(a) && [c, owner].includes(canonicalChannel(a)));
}
