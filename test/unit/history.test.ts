import { describe, expect, it } from 'vitest';
import { formatHistoryEntry, type HistoryEntry } from '../../scripts/core/history.js';

const entry = (extra: Partial<HistoryEntry> = {}): HistoryEntry => ({
  format: 1,
  at: '2026-11-30T08:00:01.123Z',
  command: 'deploy',
  user: 'svc',
  host: 'srv1',
  from: { installation: 'v23.11.0', generation: 3 },
  to: { installation: 'v23.11.0', generation: 4 },
  added: [{ name: 'new', build: 'b1' }],
  changed: [{ name: 'hlink', from: 'a', to: 'b' }],
  removed: [],
  ...extra,
});

describe('a history line', () => {
  it('reads when, what, who, commit, the move and the envs touched', () => {
    expect(formatHistoryEntry(entry({ actor: 'octo', commit: '0123456789abcdef' }))).toBe(
      '2026-11-30 08:00:01Z  deploy  octo (svc@srv1)  0123456789  v23.11.0/generations/3 -> 4  +1 ~1 -0  (new, hlink)',
    );
  });

  it('names the target installation across a conda upgrade and lists at most six envs', () => {
    const many = Array.from({ length: 8 }, (_, i) => ({ name: `e${i}`, build: 'x' }));
    const line = formatHistoryEntry(
      entry({ to: { installation: 'v24.1.2', generation: 1 }, added: many, changed: [], note: 'hi' }),
    );
    expect(line).toContain('v23.11.0/generations/3 -> v24.1.2/generations/1');
    expect(line).toContain('(e0, e1, e2, e3, e4, e5, ... (8))  note: hi');
    expect(formatHistoryEntry(entry({ from: undefined }))).toContain('(none) -> v23.11.0/generations/4');
  });

  it('names an adopted installation (no generations) on either side of a cutover', () => {
    const back = entry({
      command: 'rollback --installation',
      from: { installation: 'v24.1.2', generation: 1 },
      to: { installation: 'v4.3.22', generation: 0 },
    });
    expect(formatHistoryEntry(back)).toContain('v24.1.2/generations/1 -> v4.3.22 (adopted)');
    const up = entry({
      from: { installation: 'v4.3.22', generation: 0 },
      to: { installation: 'v24.1.2', generation: 1 },
    });
    expect(formatHistoryEntry(up)).toContain('v4.3.22 (adopted) -> v24.1.2/generations/1');
  });
});
