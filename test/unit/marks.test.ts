import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { buildPaths } from '../../scripts/core/layout.js';
import { CorruptStateError } from '../../scripts/core/errors.js';
import { readBuildRecord } from '../../scripts/state/record.js';
import { compactMarks, marksWarnings, readMarks, updateMarks } from '../../scripts/state/marks.js';
import { addBuild, fakeBuildId, makeInstallation, VERSION, type FakeInstallation } from '../fixtures/installation.js';

let fi: FakeInstallation | undefined;
afterEach(() => {
  fi?.cleanup();
  fi = undefined;
  delete process.env.CONDA_GITOPS_FAULT;
});

const bad = (reason: string) => ({ at: '2024-05-01T00:00:00.000Z', reason });

function setup(n: number) {
  fi = makeInstallation();
  const ids = Array.from({ length: n }, (_, i) => fakeBuildId(`marks-${i}`));
  for (const id of ids) addBuild(fi.root, VERSION, 'a', id);
  const journal = readMarks(fi.root, VERSION).path;
  const builds = ids.map((build) => ({ name: 'a', build }));
  return { root: fi.root, ids, journal, builds };
}

describe('rollback marks journal (vX/marks.jsonl)', () => {
  it('a rollback is one append: the builds taken out and brought back, each change one line', () => {
    const { root, ids, journal, builds } = setup(4);
    updateMarks(root, VERSION, [{ builds: builds.slice(0, 2), bad: bad('r1') }]);
    const counts = updateMarks(root, VERSION, [
      { builds: builds.slice(2), bad: bad('r2') },
      { builds: builds.slice(0, 2), bad: undefined },
    ]);
    expect(counts).toEqual([2, 2]);
    expect(readFileSync(journal, 'utf8').trimEnd().split('\n')).toHaveLength(3);
    expect(ids.map((id) => readBuildRecord(root, VERSION, 'a', id)?.bad?.reason)).toEqual([
      undefined,
      undefined,
      'r2',
      'r2',
    ]);
    expect(
      updateMarks(root, VERSION, [
        { builds, bad: undefined },
        { builds: [], bad: bad('none') },
      ]),
    ).toEqual([2, 0]);
  });

  it('a torn last line (a crash mid-append) is skipped and reported, and the next append cuts it off', () => {
    const { root, ids, journal, builds } = setup(2);
    updateMarks(root, VERSION, [{ builds: builds.slice(0, 1), bad: bad('kept') }]);
    appendFileSync(journal, '{"format":1,"at":"2024-05-02T00:00:00.000Z","op":"bad","reason":"torn","builds":[["a",');
    expect(readMarks(root, VERSION).skipped).toBe(1);
    expect(readBuildRecord(root, VERSION, 'a', ids[0]!)?.bad?.reason).toBe('kept');
    expect(readBuildRecord(root, VERSION, 'a', ids[1]!)?.bad).toBeUndefined();
    expect(marksWarnings(root, [VERSION])).toEqual([expect.stringMatching(/torn last line of .*marks\.jsonl/)]);
    updateMarks(root, VERSION, [{ builds: builds.slice(1), bad: bad('next') }]);
    const lines = readFileSync(journal, 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l).reason)).toEqual(['kept', 'next']);
    expect(readMarks(root, VERSION).skipped).toBe(0);
    expect(marksWarnings(root, [VERSION])).toEqual([]);
  });

  it('a corrupt line before the last one is a CorruptStateError naming file:line', () => {
    const { root, ids, journal } = setup(1);
    writeFileSync(journal, 'garbage\n');
    appendFileSync(
      journal,
      JSON.stringify({ format: 1, at: 'x', op: 'bad', reason: 'r', builds: [['a', ids[0]]] }) + '\n',
    );
    expect(() => readBuildRecord(root, VERSION, 'a', ids[0]!)).toThrow(CorruptStateError);
    expect(() => readMarks(root, VERSION)).toThrow(/marks\.jsonl:1: not a valid marks .*fix or delete that line/);
  });

  it('a full disk mid-append leaves the journal as it was', () => {
    const { root, ids, journal, builds } = setup(2);
    updateMarks(root, VERSION, [{ builds: builds.slice(0, 1), bad: bad('before') }]);
    const before = readFileSync(journal, 'utf8');
    process.env.CONDA_GITOPS_FAULT = 'mark-write:ENOSPC';
    expect(() => updateMarks(root, VERSION, [{ builds: builds.slice(1), bad: bad('lost') }])).toThrow(/ENOSPC/);
    delete process.env.CONDA_GITOPS_FAULT;
    expect(readFileSync(journal, 'utf8')).toBe(before);
    expect(readBuildRecord(root, VERSION, 'a', ids[1]!)?.bad).toBeUndefined();
  });

  it('gc compaction: a new file (renamed in) with the marks in force on builds that are left, and nothing else', () => {
    const { root, ids, journal, builds } = setup(4);
    // a first-format record carrying its mark inline, cleared by the journal: that clear must survive
    const inline = fakeBuildId('inline');
    addBuild(root, VERSION, 'a', inline, { bad: bad('old inline') });
    for (let r = 0; r < 5; r++) {
      updateMarks(root, VERSION, [
        { builds: builds.slice(0, 2), bad: bad(`round ${r}`) },
        { builds: builds.slice(2), bad: undefined },
      ]);
      updateMarks(root, VERSION, [
        { builds: builds.slice(2), bad: bad(`back ${r}`) },
        { builds: builds.slice(0, 2), bad: undefined },
      ]);
    }
    updateMarks(root, VERSION, [{ builds: [{ name: 'a', build: inline }], bad: undefined }]);
    // gc removed the build ids[3]
    rmSync(buildPaths(root, VERSION, 'a', ids[3]!).record);
    const state = () => [...ids.slice(0, 3), inline].map((id) => readBuildRecord(root, VERSION, 'a', id)?.bad);
    const before = state();
    const ino = statSync(journal).ino;
    expect(compactMarks(root, VERSION)).toEqual({ before: 20, after: 2 });
    expect(statSync(journal).ino).not.toBe(ino);
    expect(state()).toEqual(before);
    expect(before.map((b) => b?.reason)).toEqual([undefined, undefined, 'back 4', undefined]);
    const lines = readFileSync(journal, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { format: 1, at: expect.any(String), op: 'clear', builds: [['a', inline]] },
      { format: 1, at: bad('').at, op: 'bad', reason: 'back 4', builds: [['a', ids[2]]] },
    ]);
    expect(existsSync(`${journal}.tmp`)).toBe(false);
  });
});
