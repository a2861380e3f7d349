/**
 * Verdicts (docs/state.md): a build (immutable prefix, id from its build inputs) is separate from a verdict on
 * it. A verdict is keyed by the build id plus everything the test depended on: the env's NAME.test.sh /
 * NAME.test.py content, whether the env is a kernel (the ipykernel check) and the test procedure version.
 * A pull request with other tests gets another key, so it can never change the verdict main relies on, and
 * an env that becomes a kernel needs a new verdict (its ipykernel check runs). Pure: hashing only.
 */
import { createHash } from 'node:crypto';
import type { BuildRecord, Classification, HistoryStamp, PhaseRecord } from './types.js';

/** Bumped when the checks of the test phase change in a way that makes old verdicts meaningless. */
export const TEST_PROCEDURE_VERSION = 1;
export const VERDICT_FORMAT = 1;
const KEY_LENGTH = 16;

export interface VerdictInputs {
  buildId: string;
  /** NAME.test.sh and NAME.test.py texts ('' when the env has none) */
  tests: string;
  kernel: boolean;
  /** shipped kernelspecs published from the env (`ENV:SPEC`), whose runtimes its test checks; part of the key */
  kernelSpecs?: readonly string[];
  procedure: number;
}

/** The stored verdict: `vX/builds/NAME/<build-id>.verdicts/<key>.json`, written whole, never rewritten. */
export interface Verdict {
  format: typeof VERDICT_FORMAT;
  env: string;
  buildId: string;
  key: string;
  /** what was tested: hash of the test scripts, kernel check, procedure version */
  inputs: { tests: string; kernel: boolean; procedure: number };
  ok: boolean;
  testedAt: string;
  phase: PhaseRecord;
  failure?: Classification;
  historyStamp?: HistoryStamp;
}

/** What the planner needs of a verdict (`legacy`: read from an old record's `tested` status). */
export interface VerdictFacts {
  ok: boolean;
  failure?: string;
  legacy?: boolean;
}

const sha = (s: string, n: number) => createHash('sha256').update(s).digest('hex').slice(0, n);

export function testsHash(tests: string): string {
  return tests === '' || tests === '\0' ? '' : sha(tests, KEY_LENGTH);
}

export function verdictKey(inputs: VerdictInputs): string {
  return sha(
    JSON.stringify({
      procedure: inputs.procedure,
      buildId: inputs.buildId,
      tests: testsHash(inputs.tests),
      kernel: inputs.kernel,
      // only when there are any: every key from before shipped kernelspecs stays what it was
      ...(inputs.kernelSpecs?.length ? { kernelSpecs: [...inputs.kernelSpecs].sort() } : {}),
    }),
    KEY_LENGTH,
  );
}

/**
 * Records written before verdicts existed say `status: tested`. A build main DEPLOYED (live, or in a generation)
 * keeps that verdict for its tests as they are (main deployed it after its QA: upgrading the tool must not turn
 * an installation red; no new code writes a `tested` record, so no pull request can forge one), and for being
 * a kernel only when it is already served as one (`servedAsKernel`: its kernelspec is written): an env newly
 * listed in [kernels] still gets its ipykernel check. Any other legacy record counts as a passing verdict for
 * the key of "no test scripts, not a kernel, procedure 1" only. A legacy `failed` in the test phase is not a
 * verdict at all (it may have come from a pull request): the build is tested again.
 */
export function legacyVerdict(
  rec: BuildRecord | undefined,
  key: string,
  opts: { live?: boolean; kernel?: boolean; servedAsKernel?: boolean } = {},
): VerdictFacts | undefined {
  if (rec?.status !== 'tested') return undefined;
  if (opts.live && (!opts.kernel || opts.servedAsKernel)) return { ok: true, legacy: true };
  return key === verdictKey({ buildId: rec.buildId, tests: '', kernel: false, procedure: 1 })
    ? { ok: true, legacy: true }
    : undefined;
}
