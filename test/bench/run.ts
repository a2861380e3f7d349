/**
 * `npm run bench`: every benchmark compiled to dist/test/bench/*.bench.js, one after another, each in its
 * own node process (so one benchmark's heap and loaded modules never skew the next). Exits 1 if any failed.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = dirname(fileURLToPath(import.meta.url));
const benches = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.js'))
  .sort();
if (!benches.length) {
  console.error(`no *.bench.js in ${dir}: run 'npx tsc -p .' first`);
  process.exit(1);
}
const failed: string[] = [];
for (const file of benches) {
  console.log(`\n=== ${file}`);
  const r = spawnSync(process.execPath, [join(dir, file)], { stdio: 'inherit' });
  if (r.status !== 0) failed.push(`${file} (exit ${r.status ?? r.signal})`);
}
console.log(
  `\n${benches.length - failed.length} of ${benches.length} benchmarks met their targets` +
    (failed.length ? `; failed: ${failed.join(', ')}` : ''),
);
process.exitCode = failed.length ? 1 : 0;
