import type { Output } from '../app/output.js';
import { redact } from '../core/redact.js';
import { echoSafe } from '../core/untrusted-output.js';

/**
 * Colour of the CLI, decided here only: never under --json; FORCE_COLOR (anything but 0/false) forces it and wins
 * over NO_COLOR, as in Node; NO_COLOR (non-empty) turns it off; otherwise only on a terminal (not TERM=dumb).
 */
export function colourEnabled(json: boolean, env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  if (json) return false;
  if (env.FORCE_COLOR !== undefined) return !['0', 'false'].includes(env.FORCE_COLOR);
  if (env.NO_COLOR) return false;
  return isTTY && env.TERM !== 'dumb';
}

const RED = '\x1b[31m';
const GREEN = '\x1b[32m';
const YELLOW = '\x1b[33m';
const RESET = '\x1b[39m';
/** the status words the CLI colours: failures red, warnings yellow, passing statuses green (never "0 failed") */
const STATUS = /(?<!\b0 )\b(FAILED|failed|error|warnings?|ok|passed|tested|built|reused)\b/g;
const COLOUR: Record<string, string> = { FAILED: RED, failed: RED, error: RED, warning: YELLOW, warnings: YELLOW };

/** A human line with its status words coloured. */
export function paint(line: string): string {
  return line.replace(STATUS, (w) => `${COLOUR[w] ?? GREEN}${w}${RESET}`);
}

/** default seconds between the plain heartbeat lines of a long step (CI, a log file) */
export const HEARTBEAT_SECONDS = 30;

/** Output bound to the process streams. */
export function processOutput(json: boolean, env: NodeJS.ProcessEnv = process.env): Output {
  const colour = (stream: NodeJS.WriteStream) => colourEnabled(json, env, stream.isTTY === true);
  // a long step on a terminal is one live line on stderr, rewritten in place; every other line clears it first
  const live = new Map<number, { message: string; started: number }>();
  let liveShown = false;
  let nextId = 0;
  const liveTTY = process.stderr.isTTY === true && env.TERM !== 'dumb';
  const drawLive = () => {
    const now = performance.now();
    const text = [...live.values()].map((a) => `${a.message} ${Math.round((now - a.started) / 1000)}s`).join(' | ');
    const width = process.stderr.columns || 80;
    process.stderr.write(`\r\x1b[K${text.length >= width ? text.slice(0, width - 1) : text}`);
    liveShown = live.size > 0;
  };
  const clearLive = () => {
    if (liveShown) process.stderr.write('\r\x1b[K');
    liveShown = false;
  };
  // everything the CLI prints passes the redactor (core/redact.ts); what it echoes (a test's last line in a hint)
  // never becomes a workflow command: only `command` writes one
  const raw = (stream: NodeJS.WriteStream, m: string, styled = false) => {
    const text = redact(m.endsWith('\n') ? m : m + '\n');
    clearLive();
    stream.write(styled && colour(stream) ? paint(text) : text);
    if (live.size) drawLive();
  };
  const line = (stream: NodeJS.WriteStream, m: string) => raw(stream, echoSafe(m), true);
  const seconds = Number(env.CONDA_GITOPS_HEARTBEAT_SECONDS);
  const every = Number.isFinite(seconds) && seconds > 0 ? seconds : HEARTBEAT_SECONDS;
  return {
    json,
    command: (m) => raw(json ? process.stderr : process.stdout, m),
    info: (m) => line(json ? process.stderr : process.stdout, m),
    warn: (m) => line(process.stderr, m),
    progress: (m) => line(process.stderr, m),
    activity: (m) => {
      const id = nextId++;
      const started = performance.now();
      let timer: NodeJS.Timeout;
      if (liveTTY) {
        // a terminal: a live line with the elapsed time, rewritten every second
        live.set(id, { message: echoSafe(redact(m)), started });
        drawLive();
        timer = setInterval(drawLive, 1000);
      } else {
        // CI, a log file: the start line now, then one line every `every` seconds while the step runs
        line(process.stderr, `${m} started`);
        timer = setInterval(
          () => line(process.stderr, `${m} still running, ${Math.round((performance.now() - started) / 1000)}s`),
          every * 1000,
        );
      }
      timer.unref();
      return () => {
        clearInterval(timer);
        if (live.delete(id)) {
          clearLive();
          if (live.size) drawLive();
        }
      };
    },
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
