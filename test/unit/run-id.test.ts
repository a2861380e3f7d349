/** Run ids (app/run-setup.ts newRunId): the names of ROOT/.gitops/runs/<run-id>/ sort in the order runs began. */
import { describe, expect, test } from 'vitest';
import { newRunId } from '../../scripts/app/run-setup.js';

describe('newRunId', () => {
  test('ids created in the same second sort in creation order, and are all different', () => {
    const second = new Date('2026-12-05T17:56:11.000Z');
    const ids = Array.from({ length: 50 }, (_, i) => newRunId(new Date(second.getTime() + (i % 3) * 7)));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test('ids created at the very same instant sort in creation order', () => {
    const now = new Date('2026-12-05T17:56:11.500Z');
    const ids = Array.from({ length: 20 }, () => newRunId(now));
    expect([...ids].sort()).toEqual(ids);
  });

  test('a clock stepping back within the process does not reorder ids', () => {
    const a = newRunId(new Date('2030-01-01T00:00:01.900Z'));
    const b = newRunId(new Date('2030-01-01T00:00:01.100Z'));
    expect([a, b].sort()).toEqual([a, b]);
  });

  test('an id starts with its UTC date and time and names nothing but safe characters', () => {
    const id = newRunId(new Date('2031-02-03T04:05:06.007Z'));
    expect(id).toMatch(/^20310203-040506-\d{3}-[0-9a-f]{4}$/);
  });
});
