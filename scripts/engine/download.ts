/**
 * Downloading an installer (install-conda): http(s) or file URL -> a file, streamed (never held in memory), its
 * SHA-256 computed on the way, progress reported every few MB. Redirects are followed (at most 5). The file is
 * written under a temporary name and renamed when complete, so a half download is never taken for an installer.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, renameSync, rmSync } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { FailedError } from '../core/errors.js';

export interface Download {
  path: string;
  bytes: number;
  sha256: string;
}

const MB = 1024 * 1024;

function request(url: string, redirects = 5): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    const req = get(url, { timeout: 60_000 }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects <= 0) return reject(new FailedError(`${url}: too many redirects`));
        return resolve(request(new URL(res.headers.location, url).toString(), redirects - 1));
      }
      if (status !== 200) {
        res.resume();
        return reject(new FailedError(`cannot download ${url}: HTTP ${status}`));
      }
      resolve(res);
    });
    req.on('timeout', () => req.destroy(new Error('no answer for 60 s')));
    req.on('error', (e) => reject(new FailedError(`cannot download ${url}: ${e.message}`)));
  });
}

/** Download `url` to `dest` (written as `dest.part`, renamed when whole). */
export async function download(url: string, dest: string, onProgress: (line: string) => void): Promise<Download> {
  const part = `${dest}.part`;
  const hash = createHash('sha256');
  let bytes = 0;
  let reported = 0;
  let total = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      if (bytes - reported >= 8 * MB) {
        reported = bytes;
        onProgress(
          `downloading ${url}: ${(bytes / MB).toFixed(0)} MB${total ? ` of ${(total / MB).toFixed(0)} MB` : ''}`,
        );
      }
      done(null, chunk);
    },
  });
  onProgress(`downloading ${url} -> ${dest}`);
  try {
    let source: NodeJS.ReadableStream;
    if (url.toLowerCase().startsWith('file:')) {
      source = createReadStream(fileURLToPath(url));
    } else {
      const res = await request(url);
      total = Number(res.headers['content-length'] ?? 0);
      source = res;
    }
    await pipeline(source, meter, createWriteStream(part, { mode: 0o600 }));
  } catch (e) {
    rmSync(part, { force: true });
    if (e instanceof FailedError) throw e;
    throw new FailedError(`cannot download ${url}: ${(e as Error).message}`);
  }
  renameSync(part, dest);
  onProgress(`downloaded ${url}: ${(bytes / MB).toFixed(1)} MB`);
  return { path: dest, bytes, sha256: hash.digest('hex') };
}

/** SHA-256 of a local file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}
