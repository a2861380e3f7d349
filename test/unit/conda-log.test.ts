import { describe, expect, it } from 'vitest';
import { CallBlockWriter, formatCallBlock, lastFailedBlock } from '../../scripts/core/conda-log.js';

const at = new Date('2024-05-01T10:00:00Z');

describe('CallBlockWriter (the per-env log, streamed)', () => {
  it('writes whole lines as they arrive, marking each change of stream', () => {
    const w = new CallBlockWriter();
    const parts = [
      w.header(['conda', 'create', '-p', '/p x'], at),
      w.output('stdout', 'Collecting package metadata: done\nSolving env'),
      w.output('stderr', 'warning: old index\n'),
      w.output('stdout', 'ironment: done\n'),
      w.output('stdout', 'no newline at the end'),
      w.footer({ code: 1, seconds: 2.5, timedOut: false }),
    ];
    // a partial line waits for its newline, so the other stream never splits it
    expect(parts[1]).toBe('--- stdout\nCollecting package metadata: done\n');
    expect(parts[3]).toBe('--- stdout\nSolving environment: done\n');
    expect(parts[4]).toBe('');
    expect(parts.join('')).toBe(
      [
        "==> conda-gitops call 2024-05-01T10:00:00.000Z: conda create -p '/p x'",
        '--- stdout',
        'Collecting package metadata: done',
        '--- stderr',
        'warning: old index',
        '--- stdout',
        'Solving environment: done',
        'no newline at the end',
        '<== exit 1 after 2.50 s',
        '',
      ].join('\n'),
    );
  });

  it('gives the same block as formatCallBlock for a call that printed stdout, then stderr', () => {
    const call = {
      argv: ['sh', '-c', 'x'],
      stdout: 'out\n\nmore\n',
      stderr: 'err',
      code: 3,
      seconds: 0.5,
      timedOut: true,
    };
    const w = new CallBlockWriter();
    const streamed =
      w.header(call.argv, at) +
      w.output('stdout', 'ou') +
      w.output('stdout', 't\n\nmore\n') +
      w.output('stderr', 'err') +
      w.footer(call);
    expect(streamed).toBe(
      [
        '==> conda-gitops call 2024-05-01T10:00:00.000Z: sh -c x',
        '--- stdout',
        'out',
        '',
        'more',
        '--- stderr',
        'err',
        '<== exit 3 after 0.50 s (timed out)',
        '',
      ].join('\n'),
    );
    expect(formatCallBlock({ ...call, startedAt: at })).toBe(streamed);
  });

  it('a block cut off mid-call (no footer yet) still counts as the failed one', () => {
    const w = new CallBlockWriter();
    const done = formatCallBlock({
      argv: ['conda', 'list'],
      stdout: '[]\n',
      stderr: '',
      code: 0,
      seconds: 1,
      timedOut: false,
      startedAt: at,
    });
    const cut = w.header(['conda', 'install', 'x'], at) + w.output('stderr', 'Solving environment: failed\n');
    expect(lastFailedBlock(done + cut)).toBe(cut);
  });
});
