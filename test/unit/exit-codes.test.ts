/**
 * How a command ends (an Outcome a use case returns, or the error it throws) -> the exit code the user sees, the
 * message on stderr, the exit-code section of --help and the README's table: one owner, cli/exit.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  EXIT_CODES,
  exitCodeOf,
  exitCodeOfError,
  exitCodesHelp,
  exitCodesMarkdown,
  finish,
} from '../../scripts/cli/exit.js';
import { memoryOutput } from '../../scripts/cli/output.js';
import {
  BusyError,
  CorruptStateError,
  EnvironmentError,
  FailedError,
  InputError,
  InterruptedError,
  RefusedError,
  UnsafePathError,
  UsageError,
} from '../../scripts/core/errors.js';
import { OK, badInput, drift, failed, failedIf, refused, type OutcomeKind } from '../../scripts/core/outcome.js';

describe('outcomes and errors to exit codes (the README table)', () => {
  it('every outcome a use case returns has its code: 0 ok; 1 failed, drift, refused; 2 bad input', () => {
    expect(
      [OK, failed(), drift(), refused('no'), badInput(), failedIf(false), failedIf(true, 'x')].map((o) =>
        exitCodeOf(o.kind),
      ),
    ).toEqual([0, 1, 1, 1, 2, 0, 1]);
  });

  it('every error class maps to the code the README promises; anything else is a bug (70)', () => {
    const cases: Array<[unknown, number]> = [
      [new UsageError('u'), 2],
      [new InputError([{ file: 'inventory.ini', line: 1, message: 'm', severity: 'error' }]), 2],
      [new UnsafePathError('p'), 2],
      [new FailedError('f'), 1],
      [new RefusedError('r'), 1],
      [new CorruptStateError('/r/x.json', 'c'), 1],
      [new BusyError('b'), 3],
      [new EnvironmentError('e'), 4],
      [new InterruptedError('SIGINT'), 130],
      [new InterruptedError('SIGTERM'), 143],
      [new Error('a bug'), 70],
      ['a thrown string', 70],
    ];
    expect(cases.map(([e]) => exitCodeOfError(e))).toEqual(cases.map(([, code]) => code));
  });

  it('every kind of ending is in exactly one row of the table', () => {
    const kinds: OutcomeKind[] = [
      'ok',
      'failed',
      'drift',
      'refused',
      'corrupt-state',
      'bad-input',
      'busy',
      'machine',
      'interrupted',
      'internal',
    ];
    for (const kind of kinds)
      expect(
        EXIT_CODES.filter((r) => r.kinds.includes(kind)),
        kind,
      ).toHaveLength(1);
    expect(EXIT_CODES.flatMap((r) => r.kinds).sort()).toEqual([...kinds].sort());
  });
});

describe('what the user reads', () => {
  it('a refusal or failure with a message goes to stderr, prefixed, also under --json; ok prints nothing', () => {
    for (const json of [false, true]) {
      const out = memoryOutput(json);
      expect(finish(refused('refusing to deploy: b has no tested build'), out)).toBe(1);
      expect(finish(failed(), out)).toBe(1);
      expect(finish(OK, out)).toBe(0);
      expect(out.errors).toEqual(['conda-gitops: refusing to deploy: b has no tested build']);
      expect(out.lines).toEqual([]);
    }
  });

  it('--help lists every code with a short meaning, rendered from the table', () => {
    expect(exitCodesHelp().split('\n')).toEqual([
      'Exit codes:',
      '  0        ok',
      '  1        some env failed, drift, a refused action or a corrupt state file',
      '  2        bad input or usage',
      '  3        locked/busy',
      '  4        the machine refused (disk full, read-only, permission)',
      '  130/143  interrupted (SIGINT/SIGTERM)',
      '  70       a bug in conda-gitops',
    ]);
  });

  it("the README's exit-code table is the one the CLI uses", () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.split('### Exit codes')[1]!.split('\n## ')[0]!.trim();
    expect(section).toBe(exitCodesMarkdown());
  });
});
