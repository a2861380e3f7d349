/** Reading channels (DIR/<subdir>/repodata.json via file:// URLs); unreachable http(s) channels fail like conda. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SUBDIRS, type Channel } from './channels.js';
import { CondaError } from './errors.js';

/** One repodata.json entry, plus where it came from. */
export interface RepoRecord {
  name: string;
  version: string;
  build: string;
  build_number: number;
  depends: string[];
  constrains?: string[];
  subdir: string;
  fn: string;
  noarch?: 'python' | 'generic' | true;
  md5?: string;
  sha256?: string;
  size?: number;
  timestamp?: number;
  license?: string;
  /** fake-only: false = the package is not a Python module (nothing importable is written) */
  fake_conda_module?: boolean;
  /** fake-only: a legacy noarch_python package that ships `bin/.NAME-pre-link.sh` (fixtures.ts legacyNoarchPython) */
  fake_conda_prelink?: boolean;
  [k: string]: unknown;
}

export interface IndexedRecord extends RepoRecord {
  channel: Channel;
  /** full package URL: <channel>/<subdir>/<fn> */
  url: string;
}

export interface SubdirData {
  channel: Channel;
  subdir: string;
  /** the parsed repodata.json, served to the solver */
  repodata: { info?: unknown; packages: Record<string, RepoRecord>; 'packages.conda'?: Record<string, RepoRecord> };
}

export interface Index {
  channels: Channel[];
  subdirs: SubdirData[];
  records: IndexedRecord[];
}

export function httpError(url: string): CondaError {
  const base = url.replace(/\/repodata\.json$/, '');
  return new CondaError(
    'CondaHTTPError',
    `HTTP 000 CONNECTION FAILED for url <${url}>\nElapsed: -\n\n` +
      'An HTTP error occurred when trying to retrieve this URL.\n' +
      `HTTP errors are often intermittent, and a simple retry will get you on your way.\n'${base}'\n`,
    { url, status_code: '000', reason: 'CONNECTION FAILED', elapsed_time: '-', response_details: '' },
  );
}

function invalidChannel(ch: Channel): CondaError {
  return new CondaError(
    'UnavailableInvalidChannel',
    `HTTP 404 NOT FOUND for channel ${ch.name} <${ch.url}>\n\n` +
      `The channel is not accessible or is invalid.\n\nYou will need to adjust your conda configuration to proceed.\n` +
      "Use `conda config --show channels` to view your configuration's current state,\n" +
      'and use `conda config --show-sources` to view config file locations.\n',
    { channel_name: ch.name, channel_url: ch.url, status_code: 404, reason: 'NOT FOUND' },
  );
}

/** Load every channel's linux-64 and noarch repodata. No network exists: http(s) channels fail. */
export function loadIndex(channels: Channel[]): Index {
  const subdirs: SubdirData[] = [];
  const records: IndexedRecord[] = [];
  for (const channel of channels) {
    if (!channel.url.startsWith('file://')) {
      // conda reports the first subdir it could not fetch
      throw httpError(`${channel.url}/${SUBDIRS[0]}/repodata.json`);
    }
    const base = fileURLToPath(channel.url);
    for (const subdir of SUBDIRS) {
      let repodata: SubdirData['repodata'];
      try {
        repodata = JSON.parse(readFileSync(`${base}/${subdir}/repodata.json`, 'utf8'));
      } catch (e) {
        // a file channel needs noarch/repodata.json; a missing platform subdir just means "no packages"
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' && subdir !== 'noarch') repodata = { packages: {} };
        else if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw invalidChannel(channel);
        else
          throw new CondaError('CondaError', `Could not read ${base}/${subdir}/repodata.json: ${(e as Error).message}`);
      }
      repodata.packages ??= {};
      subdirs.push({ channel, subdir, repodata });
      for (const table of [repodata.packages, repodata['packages.conda'] ?? {}]) {
        for (const [fn, r] of Object.entries(table)) {
          records.push({
            ...r,
            fn,
            subdir: r.subdir ?? subdir,
            depends: r.depends ?? [],
            build_number: r.build_number ?? 0,
            channel,
            url: `${channel.url}/${subdir}/${fn}`,
          });
        }
      }
    }
  }
  return { channels, subdirs, records };
}
