/**
 * Reading option values: one parser each for strings, flags, lists, whole numbers and durations, with one
 * message style (`--NAME expects ..., got 'VALUE'`). Pure: values in, values or a UsageError out. Commands call
 * these and pass plain values on to a use case.
 */
import { UsageError } from './errors.js';

/** Values of a parsed command line (node:util parseArgs). */
export type OptionValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

type Options = { options: OptionValues };

export function stringOption(ctx: Options, name: string): string | undefined {
  const v = ctx.options[name];
  return typeof v === 'string' ? v : undefined;
}

export function boolOption(ctx: Options, name: string): boolean {
  return ctx.options[name] === true;
}

/**
 * A repeatable option; each value may also be a comma-separated list (`--env a,b --env c`). A value named twice
 * counts once, in the order first named.
 */
export function listOption(ctx: Options, name: string): string[] {
  const v = ctx.options[name];
  const values = Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : [];
  const items = values
    .flatMap((x) => x.split(','))
    .map((x) => x.trim())
    .filter(Boolean);
  return [...new Set(items)];
}

function invalid(name: string, expected: string, text: string): UsageError {
  return new UsageError(`--${name} expects ${expected}, got '${text}'`);
}

/** A whole number >= min (default 0); `fallback` when the option is absent. */
export function integerOption(ctx: Options, name: string, opts: { min?: number; fallback: number }): number;
export function integerOption(ctx: Options, name: string, opts?: { min?: number }): number | undefined;
export function integerOption(ctx: Options, name: string, opts: { min?: number; fallback?: number } = {}) {
  const text = stringOption(ctx, name);
  if (text === undefined) return opts.fallback;
  const min = opts.min ?? 0;
  if (!/^\d{1,9}$/.test(text.trim()) || Number(text) < min) throw invalid(name, `a whole number >= ${min}`, text);
  return Number(text);
}

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;
type Unit = keyof typeof UNIT_SECONDS;

/**
 * A duration, in seconds: a plain number counts in `unit` (the flag's documented unit), or give a suffix
 * (`90s`, `15m`, `2h`, `1d`). `positive` rejects 0.
 */
export function durationOption(
  ctx: Options,
  name: string,
  opts: { unit: Unit; positive?: boolean; fallback: number },
): number;
export function durationOption(
  ctx: Options,
  name: string,
  opts: { unit: Unit; positive?: boolean },
): number | undefined;
export function durationOption(
  ctx: Options,
  name: string,
  opts: { unit: Unit; positive?: boolean; fallback?: number },
) {
  const text = stringOption(ctx, name);
  if (text === undefined) return opts.fallback;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$/.exec(text);
  const seconds = m ? Number(m[1]) * UNIT_SECONDS[(m[2] || opts.unit) as Unit] : NaN;
  const unitName = { s: 'seconds', m: 'minutes', h: 'hours', d: 'days' }[opts.unit];
  if (!Number.isFinite(seconds) || (opts.positive && seconds <= 0)) {
    throw invalid(name, `a duration (${unitName}, or with a unit: 90s, 15m, 2h)${opts.positive ? ' > 0' : ''}`, text);
  }
  return seconds;
}

/** `--jobs N`: parallel builds, 1 to 1000. */
export function jobsOption(ctx: Options): number {
  const jobs = integerOption(ctx, 'jobs', { min: 1, fallback: 1 });
  if (jobs > 1000) throw invalid('jobs', 'a whole number from 1 to 1000', String(jobs));
  return jobs;
}
