/**
 * `node dist/test/real-conda/make-channel.js SRC DEST`: the fake conda channel SRC (its repodata.json records) as a
 * real channel at DEST, with real packages (channel.ts). Prints DEST's file:// URL.
 */
import { makeRealChannel } from './channel.js';

const [src, dest, ...rest] = process.argv.slice(2);
if (!src || !dest || rest.length) {
  process.stderr.write('usage: node dist/test/real-conda/make-channel.js SRC DEST\n');
  process.exit(2);
}
process.stdout.write(makeRealChannel(src, dest) + '\n');
