/** The lane's summary line (summary.ts), from test results as vitest reports them. */
import { describe, expect, it } from 'vitest';
import { laneSummary, type LaneTest } from './summary.js';

const probe = (v: string, p: string, state: LaneTest['state'] = 'pass'): LaneTest => ({
  suites: [`conda ${v}`],
  name: `a probe (probe: ${p})`,
  state,
});
const product = (to: string, state: LaneTest['state']): LaneTest => ({
  suites: [`real conda: adopt a conda 4.3.22 installation, upgrade to ${to}`],
  name: 'qa',
  state,
});

describe('the real-conda lane summary line', () => {
  it('names the versions run, the probes compared, the mismatches and the product scenarios', () => {
    const tests = [
      probe('4.3.22', 'install'),
      probe('4.3.22', 'create'),
      probe('4.3.22', 'env create + pip', 'skip'),
      probe('25.11.1', 'install'),
      probe('4.12.0', 'install', 'fail'),
      product('4.8.5', 'pass'),
      product('24.11.3', 'pass'),
    ];
    expect(laneSummary(tests)).toBe(
      'real-conda lane: 3 versions (4.3.22 … 25.11.1), probes install/create: 4 compared, 1 mismatch; ' +
        'product scenario 4.3.22->4.8.5, ->24.11.3: passed',
    );
    expect(laneSummary([...tests, product('24.11.3', 'fail')])).toMatch(/: FAILED$/);
    // a scenario left out of the run (-t, REAL_CONDA_PRODUCT) is not named
    expect(laneSummary([product('4.8.5', 'pass'), product('24.11.3', 'skip')])).toBe(
      'real-conda lane: product scenario 4.3.22->4.8.5: passed',
    );
  });

  it('says nothing when nothing ran (the lane skipped with its own line)', () => {
    expect(laneSummary([{ suites: ['real conda lane'], name: 'skipped: no archives', state: 'skip' }])).toBeUndefined();
    expect(laneSummary([product('4.8.5', 'skip')])).toBeUndefined();
  });
});
