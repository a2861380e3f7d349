import type { Output } from '../app/output.js';
import { redact } from '../core/redact.js';
import { echoSafe } from '../core/untrusted-output.js';

/** Output bound to the process streams. */
export function processOutput(json: boolean): Output {
  // everything the CLI prints passes the redactor (core/redact.ts); what it echoes (a test's last line in a hint)
  // never becomes a workflow command: only `command` writes one
  const raw = (stream: NodeJS.WriteStream, m: string) => stream.write(redact(m.endsWith('\n') ? m : m + '\n'));
  const line = (stream: NodeJS.WriteStream, m: string) => raw(stream, echoSafe(m));
  return {
    json,
    command: (m) => raw(json ? process.stderr : process.stdout, m),
    info: (m) => line(json ? process.stderr : process.stdout, m),
    warn: (m) => line(process.stderr, m),
    progress: (m) => line(process.stderr, m),
    result: (v) => {
      if (json) process.stdout.write(redact(JSON.stringify(v, null, 2) + '\n'));
    },
  };
}

/** Output captured in memory, for tests and for commands that call other commands. */
export function memoryOutput(json = false): Output & { lines: string[]; errors: string[]; results: unknown[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  const results: unknown[] = [];
  return {
    json,
    lines,
    errors,
    results,
    info: (m) => (json ? errors : lines).push(m),
    command: (m) => (json ? errors : lines).push(m),
    warn: (m) => errors.push(m),
    progress: (m) => errors.push(m),
    result: (v) => {
      results.push(v);
    },
  };
}
