import { describe, expect, it } from 'vitest';
import { durationOption, integerOption, jobsOption, listOption } from '../../scripts/core/options.js';
import { UsageError } from '../../scripts/core/errors.js';

const opts = (options: Record<string, string | boolean | string[]>) => ({ options });

describe('one option parser, one message style', () => {
  it('whole numbers: fallback when absent, a bound, and the flag and value named on error', () => {
    expect(integerOption(opts({}), 'keep', { min: 1, fallback: 5 })).toBe(5);
    expect(integerOption(opts({ keep: '3' }), 'keep', { min: 1, fallback: 5 })).toBe(3);
    expect(() => integerOption(opts({ keep: '0' }), 'keep', { min: 1 })).toThrow(
      new UsageError("--keep expects a whole number >= 1, got '0'"),
    );
    for (const bad of ['1.5', '-1', '', 'x', '1e3'])
      expect(() => integerOption(opts({ to: bad }), 'to')).toThrow(/--to expects/);
  });

  it("durations: a plain number counts in the flag's unit; suffixes s, m, h, d", () => {
    expect(durationOption(opts({ wait: '30' }), 'wait', { unit: 's', fallback: 0 })).toBe(30);
    expect(durationOption(opts({ wait: '5m' }), 'wait', { unit: 's', fallback: 0 })).toBe(300);
    expect(durationOption(opts({ grace: '2' }), 'grace', { unit: 'h', fallback: 0 })).toBe(7200);
    expect(durationOption(opts({ grace: '90m' }), 'grace', { unit: 'h', fallback: 0 })).toBe(5400);
    expect(durationOption(opts({}), 'timeout', { unit: 's', positive: true })).toBeUndefined();
    expect(() => durationOption(opts({ timeout: '0' }), 'timeout', { unit: 's', positive: true })).toThrow(
      /--timeout expects a duration \(seconds, or with a unit: 90s, 15m, 2h\) > 0, got '0'/,
    );
    expect(() => durationOption(opts({ wait: 'soon' }), 'wait', { unit: 's' })).toThrow(/--wait expects a duration/);
  });

  it('lists: repeatable and comma-separated', () => {
    expect(listOption(opts({ env: ['a,b', 'c'] }), 'env')).toEqual(['a', 'b', 'c']);
    expect(listOption(opts({}), 'env')).toEqual([]);
    // `--env web --env web,db` means web and db once each: no command builds, tests or exports an env twice
    expect(listOption(opts({ env: ['web', 'web,db', 'db'] }), 'env')).toEqual(['web', 'db']);
  });

  it('--jobs: 1 to 1000, default 1', () => {
    expect(jobsOption(opts({}))).toBe(1);
    expect(jobsOption(opts({ jobs: '8' }))).toBe(8);
    expect(() => jobsOption(opts({ jobs: '0' }))).toThrow(/--jobs expects a whole number >= 1, got '0'/);
    expect(() => jobsOption(opts({ jobs: '5000' }))).toThrow(/--jobs expects a whole number from 1 to 1000/);
  });
});
