import { afterEach, describe, expect, it } from 'vitest';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  checkManageable,
  cleanTemporaries,
  ensureRootLinks,
  generationProblems,
  listGenerations,
  liveGenerationNumber,
  markBuilds,
  readGenerationLinks,
  readLive,
  readManifest,
  replaceSymlink,
  servedLinks,
  servingInstallation,
  swapEnvs,
  writeGeneration,
} from '../../scripts/state/generation.js';
import {
  diffLinks,
  nextGenerationNumber,
  parseLinkTarget,
  rollbackTarget,
  envRollbackSource,
  sameLinks,
  formatRef,
} from '../../scripts/core/generation.js';
import type { GenerationManifest, LinkMap } from '../../scripts/core/generation.js';
import { diffLines } from '../../scripts/core/generation.js';
import {
  CorruptStateError,
  EnvironmentError,
  environmentError,
  FailedError,
  RefusedError,
} from '../../scripts/core/errors.js';
import { exitCodeOfError } from '../../scripts/cli/exit.js';
import { buildPaths } from '../../scripts/core/layout.js';
import { readBuildRecord } from '../../scripts/state/record.js';
import { addBuild, fakeBuildId, makeInstallation, VERSION } from '../fixtures/installation.js';
import type { FakeInstallation } from '../fixtures/installation.js';

const manifest = (n: number, envs: LinkMap, extra: Partial<GenerationManifest> = {}): GenerationManifest => ({
  format: 1,
  n,
  createdAt: new Date().toISOString(),
  reason: 'test',
  envs,
  ...extra,
});

describe('generation arithmetic (pure)', () => {
  it('parses only the links it writes', () => {
    expect(parseLinkTarget('hlink', '../../builds/hlink/0123456789ab')).toBe('0123456789ab');
    expect(parseLinkTarget('hlink', '../../builds/other/0123456789ab')).toBeUndefined();
    expect(parseLinkTarget('hlink', '/abs/builds/hlink/x')).toBeUndefined();
  });

  it('numbers generations after the highest one', () => {
    expect(nextGenerationNumber([])).toBe(1);
    expect(nextGenerationNumber([1, 2, 7])).toBe(8);
  });

  it('diffs link maps into added, changed and removed, sorted', () => {
    expect(diffLinks({ a: '1', b: '2', c: '3' }, { b: '2', c: '4', d: '5', a0: '6' })).toEqual({
      added: [
        { name: 'a0', build: '6' },
        { name: 'd', build: '5' },
      ],
      changed: [{ name: 'c', from: '3', to: '4' }],
      removed: [{ name: 'a', build: '1' }],
    });
    expect(sameLinks({ a: '1' }, { a: '1' })).toBe(true);
    expect(sameLinks({ a: '1' }, { a: '1', b: '2' })).toBe(false);
  });

  describe('rollbackTarget', () => {
    const live = { installation: 'v2', generation: 5 };
    const all = () => true;
    it('goes to the parent recorded in the live manifest, even across installations', () => {
      expect(rollbackTarget(live, [1, 2, 3, 4, 5], { installation: 'v2', generation: 2 }, all)).toEqual({
        target: { installation: 'v2', generation: 2 },
        backwards: true,
      });
      expect(
        rollbackTarget({ installation: 'v2', generation: 1 }, [1], { installation: 'v1', generation: 9 }, all).target,
      ).toEqual({ installation: 'v1', generation: 9 });
    });
    it('falls back to the highest lower generation when the parent is unknown or gone', () => {
      expect(rollbackTarget(live, [1, 3, 5], undefined, all).target.generation).toBe(3);
      expect(
        rollbackTarget(live, [1, 3, 5], { installation: 'v2', generation: 4 }, () => false).target.generation,
      ).toBe(3);
    });
    it('--to N must exist; the live N is itself (a no-op); going to a higher N is not backwards', () => {
      expect(rollbackTarget(live, [1, 5, 6], undefined, all, 6)).toEqual({
        target: { installation: 'v2', generation: 6 },
        backwards: false,
      });
      expect(rollbackTarget(live, [1, 5], undefined, all, 5)).toEqual({ target: live, backwards: false });
      expect(() => rollbackTarget(live, [1, 5], undefined, all, 3)).toThrow(/no generation 3 .*have: 1, 5/);
    });
    it('refuses when there is nothing before', () => {
      expect(() => rollbackTarget({ installation: 'v2', generation: 1 }, [1], undefined, all)).toThrow(FailedError);
    });
  });
});

describe('envRollbackSource', () => {
  const gens = [
    { n: 1, links: { a: 'a1', b: 'b1' } },
    { n: 2, links: { a: 'a2', b: 'b1' } },
    { n: 3, links: { a: 'a2', b: 'b2' } },
    { n: 4, links: { a: 'a3', b: 'b2' } },
  ];
  const none = () => false;
  it('walks back to the newest generation where the env had another build', () => {
    expect(envRollbackSource('b', { generation: 4, links: gens[3].links }, gens, none)).toEqual({
      generation: 2,
      build: 'b1',
    });
    expect(envRollbackSource('a', { generation: 4, links: gens[3].links }, gens, none)).toEqual({
      generation: 3,
      build: 'a2',
    });
  });
  it('skips rolled-back builds, so a second rollback goes further back', () => {
    const live = { generation: 5, links: { a: 'a2', b: 'b2' } }; // a rollback --env a made 5 from 4
    const isBad = (b: string) => b === 'a3';
    expect(envRollbackSource('a', live, [...gens, { n: 5, links: live.links }], isBad)).toEqual({
      generation: 1,
      build: 'a1',
    });
  });
  it('restores an env the live generation lacks; undefined when there is no other build', () => {
    expect(envRollbackSource('c', { generation: 2, links: {} }, [{ n: 1, links: { c: 'c1' } }], none)).toEqual({
      generation: 1,
      build: 'c1',
    });
    expect(envRollbackSource('b', { generation: 2, links: { b: 'b1' } }, gens, none)).toBeUndefined();
  });
});

describe('generations on disk', () => {
  let fi: FakeInstallation;
  afterEach(() => fi?.cleanup());

  it('writes a generation whole, swaps the empty installer envs/ dir for a link, and reads it back', () => {
    fi = makeInstallation();
    const a = fakeBuildId('a');
    addBuild(fi.root, VERSION, 'a', a);
    writeGeneration(fi.inst.dir, manifest(1, { a }));
    expect(readdirSync(join(fi.inst.dir, 'generations'))).toEqual(['1']); // no temp dir left
    expect(lstatSync(join(fi.inst.dir, 'envs')).isDirectory()).toBe(true);
    swapEnvs(fi.inst.dir, 1);
    expect(readlinkSync(join(fi.inst.dir, 'envs'))).toBe('generations/1');
    expect(liveGenerationNumber(fi.inst.dir)).toBe(1);
    expect(readGenerationLinks(fi.inst.dir, 1)).toEqual({ a });
    expect(readManifest(fi.inst.dir, 1)?.envs).toEqual({ a });
    // the temp link was renamed away; the installation carries gc's ownership marker
    expect(readdirSync(fi.inst.dir).filter((e) => e.startsWith('.'))).toEqual(['.conda-gitops-installation']);
    ensureRootLinks(fi.root, VERSION);
    expect(readLive(fi.root)).toEqual({ ref: { installation: `v${VERSION}`, generation: 1 }, links: { a } });
    expect(existsSync(join(fi.root, 'envs', 'a', 'bin', 'python'))).toBe(true);
  });

  it('the first generation out of an adopted installation leads back to it; old manifests stay valid', () => {
    fi = makeInstallation({ version: '4.3.22' });
    const old = join(fi.root, 'v4.3.22');
    mkdirSync(join(old, 'envs', 'census'), { recursive: true });
    writeFileSync(join(old, 'envs', 'stray-file'), '');
    replaceSymlink(join(fi.root, 'current'), 'v4.3.22', 'current');
    // nothing deployed is live: the adopted installation current points at serves its own envs
    expect(readLive(fi.root)).toEqual({ links: {} });
    const adopted = { installation: 'v4.3.22', generation: 0 };
    expect(servingInstallation(fi.root, undefined)).toEqual(adopted);
    expect(servedLinks(fi.root, adopted)).toEqual({ census: 'adopted' });
    expect(formatRef(adopted)).toBe('v4.3.22 (adopted)');

    const next = makeInstallation({ root: fi.root });
    const a = fakeBuildId('a');
    addBuild(fi.root, VERSION, 'a', a);
    writeGeneration(next.inst.dir, { ...manifest(1, { a }), adoptedFrom: 'v4.3.22' });
    writeGeneration(next.inst.dir, { ...manifest(2, { a }), parent: { installation: `v${VERSION}`, generation: 1 } });
    writeGeneration(next.inst.dir, manifest(3, { a })); // an older manifest: no adoptedFrom, still reads
    expect(readManifest(next.inst.dir, 1)?.adoptedFrom).toBe('v4.3.22');
    expect(servingInstallation(fi.root, { installation: `v${VERSION}`, generation: 2 })).toEqual(adopted);
    expect(servingInstallation(fi.root, { installation: `v${VERSION}`, generation: 3 })).toBeUndefined();
  });

  it('never reuses a generation number: writing an existing N fails', () => {
    fi = makeInstallation();
    writeGeneration(fi.inst.dir, manifest(1, { a: fakeBuildId('a') }));
    expect(() => writeGeneration(fi.inst.dir, manifest(1, { b: fakeBuildId('b') }))).toThrow();
    expect(readGenerationLinks(fi.inst.dir, 1)).toEqual({ a: fakeBuildId('a') });
  });

  it('lists complete generations only and cleans what a killed run left behind', () => {
    fi = makeInstallation();
    writeGeneration(fi.inst.dir, manifest(1, {}));
    mkdirSync(join(fi.inst.dir, 'generations', '.tmp-2-99999'));
    symlinkSync('generations/1', join(fi.inst.dir, '.envs.tmp-99999'));
    symlinkSync('v1', join(fi.root, '.current.tmp-99999'));
    writeFileSync(join(fi.root, 'notes.tmp-1'), 'not ours');
    expect(listGenerations(fi.inst.dir)).toEqual([1]);
    const removed = cleanTemporaries(fi.root, [fi.inst.dir]);
    expect(removed).toHaveLength(3);
    expect(existsSync(join(fi.root, 'notes.tmp-1'))).toBe(true);
    expect(readdirSync(join(fi.inst.dir, 'generations'))).toEqual(['1']);
  });

  it('replaceSymlink swaps atomically over an existing link', () => {
    fi = makeInstallation();
    const link = join(fi.root, 'current');
    replaceSymlink(link, 'v1');
    replaceSymlink(link, 'v2');
    expect(readlinkSync(link)).toBe('v2');
    expect(readdirSync(fi.root).filter((e) => e.includes('tmp'))).toEqual([]);
  });

  it('refuses unmanaged envs: a real vX/envs or ROOT/envs with envs in it, or a foreign ROOT/envs link', () => {
    fi = makeInstallation();
    expect(() => checkManageable(fi.root, VERSION)).not.toThrow(); // fresh installer: empty envs/
    mkdirSync(join(fi.inst.dir, 'envs', 'old_env'));
    expect(() => checkManageable(fi.root, VERSION)).toThrow(RefusedError);
    expect(() => checkManageable(fi.root, VERSION)).toThrow(/old_env.*\n.*adopt/s);
    fi.cleanup();

    fi = makeInstallation();
    mkdirSync(join(fi.root, 'envs', 'x'), { recursive: true });
    expect(() => checkManageable(fi.root, VERSION)).toThrow(/ROOT|envs.*not managed/);
    fi.cleanup();

    fi = makeInstallation();
    symlinkSync('v4.3.22/envs', join(fi.root, 'envs'));
    expect(() => checkManageable(fi.root, VERSION)).toThrow(/points to v4\.3\.22\/envs/);
  });

  it('marks builds bad with one line appended to vX/marks.jsonl, never writing the record; clearing too', () => {
    fi = makeInstallation();
    const id = fakeBuildId('m');
    const original = addBuild(fi.root, VERSION, 'a', id);
    const bad = { at: '2024-05-01T00:00:00.000Z', reason: 'rolled back from v/generations/2 to v/generations/1' };
    const builds = [
      { name: 'a', build: id },
      { name: 'a', build: fakeBuildId('absent') },
    ];
    const paths = buildPaths(fi.root, VERSION, 'a', id);
    const recordText = readFileSync(paths.record, 'utf8');
    const journal = join(fi.root, `v${VERSION}`, 'marks.jsonl');
    expect(markBuilds(fi.root, `v${VERSION}`, builds, bad)).toBe(1);
    expect(readBuildRecord(fi.root, VERSION, 'a', id)).toEqual({ ...original, bad });
    expect(markBuilds(fi.root, `v${VERSION}`, builds, bad)).toBe(0); // already marked
    expect(markBuilds(fi.root, `v${VERSION}`, builds, undefined)).toBe(1);
    expect(readBuildRecord(fi.root, VERSION, 'a', id)).toEqual(original);
    expect(markBuilds(fi.root, `v${VERSION}`, builds, { ...bad, reason: 'x' })).toBe(1);
    expect(readBuildRecord(fi.root, VERSION, 'a', id)?.bad?.reason).toBe('x');
    expect(readFileSync(paths.record, 'utf8')).toBe(recordText);
    expect(existsSync(paths.mark)).toBe(false);
    const lines = readFileSync(journal, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { format: 1, at: bad.at, op: 'bad', reason: bad.reason, builds: [['a', id]] },
      { format: 1, at: expect.any(String), op: 'clear', builds: [['a', id]] },
      { format: 1, at: bad.at, op: 'bad', reason: 'x', builds: [['a', id]] },
    ]);
  });

  it('a mark file of the previous format is read, still holds when unreadable, and clearing removes it', () => {
    fi = makeInstallation();
    const id = fakeBuildId('old-file');
    const original = addBuild(fi.root, VERSION, 'a', id);
    const paths = buildPaths(fi.root, VERSION, 'a', id);
    const bad = { at: '2024-05-01T00:00:00.000Z', reason: 'rolled back' };
    writeFileSync(paths.mark, JSON.stringify({ format: 1, ...bad }) + '\n');
    expect(readBuildRecord(fi.root, VERSION, 'a', id)).toEqual({ ...original, bad });
    expect(markBuilds(fi.root, `v${VERSION}`, [{ name: 'a', build: id }], bad)).toBe(0); // already marked
    // an unreadable mark (power cut before its data reached the disk) still holds the build back
    writeFileSync(paths.mark, '');
    expect(readBuildRecord(fi.root, VERSION, 'a', id)?.bad?.reason).toMatch(/mark file .* unreadable/);
    expect(markBuilds(fi.root, `v${VERSION}`, [{ name: 'a', build: id }], undefined)).toBe(1);
    expect(existsSync(paths.mark)).toBe(false);
    expect(readBuildRecord(fi.root, VERSION, 'a', id)).toEqual(original);
  });

  it('a first-format record with its mark inline: read as marked; a clear line lifts it, the record untouched', () => {
    fi = makeInstallation();
    const id = fakeBuildId('inline');
    const bad = { at: '2024-05-01T00:00:00.000Z', reason: 'rolled back' };
    const original = addBuild(fi.root, VERSION, 'a', id, { bad });
    expect(readBuildRecord(fi.root, VERSION, 'a', id)?.bad).toEqual(bad);
    expect(markBuilds(fi.root, `v${VERSION}`, [{ name: 'a', build: id }], undefined)).toBe(1);
    const { bad: _b, ...rest } = original;
    const recordText = readFileSync(buildPaths(fi.root, VERSION, 'a', id).record, 'utf8');
    expect(readBuildRecord(fi.root, VERSION, 'a', id)).toEqual(rest);
    expect(readFileSync(buildPaths(fi.root, VERSION, 'a', id).record, 'utf8')).toBe(recordText);
    expect(markBuilds(fi.root, `v${VERSION}`, [{ name: 'a', build: id }], undefined)).toBe(0); // cleared already
  });

  it('a truncated record or manifest is a CorruptStateError naming the file (exit 1)', () => {
    fi = makeInstallation();
    const id = fakeBuildId('t');
    addBuild(fi.root, VERSION, 'a', id);
    const paths = buildPaths(fi.root, VERSION, 'a', id);
    truncateSync(paths.record, 30);
    const read = () => readBuildRecord(fi!.root, VERSION, 'a', id);
    expect(read).toThrow(CorruptStateError);
    expect(read).toThrow(`${paths.record}: not a valid build record (not JSON`);
    writeGeneration(fi.inst.dir, { format: 1, n: 1, createdAt: 'now', reason: 'deploy', envs: {} });
    const manifest = join(fi.inst.dir, 'generations', '1', '.generation.json');
    writeFileSync(manifest, JSON.stringify({ format: 2, n: 1 }));
    expect(() => readManifest(fi!.inst.dir, 1)).toThrow(/format 2 is not one this release reads/);
    expect(generationProblems(fi.inst.dir, 1)).toEqual([
      expect.stringContaining(`its manifest is corrupt (${manifest}); to go on: restore it from a backup`),
    ]);
  });
});

describe('environmental errors (core/errors.ts)', () => {
  it('maps disk full, read-only, permission and not-a-directory to exit 4 naming the path; others are not', () => {
    const e = environmentError(Object.assign(new Error('x'), { code: 'ENOSPC', path: '/r/x.json', syscall: 'write' }));
    expect(e).toBeInstanceOf(EnvironmentError);
    expect(exitCodeOfError(e)).toBe(4);
    expect(e?.message).toBe(
      'write: ENOSPC at /r/x.json: no space left on the device: free space (or run `conda-gitops gc --yes`), ' +
        'then run the command again',
    );
    for (const code of ['EROFS', 'EACCES', 'EPERM', 'ENOTDIR', 'EDQUOT']) {
      expect(exitCodeOfError(environmentError({ code, path: '/r' })), code).toBe(4);
    }
    expect(environmentError({ code: 'EEXIST', syscall: 'mkdir', path: '/r/.gitops' })?.message).toMatch(
      /a file is where a directory must be/,
    );
    expect(environmentError({ code: 'EEXIST', syscall: 'open' })).toBeUndefined();
    expect(environmentError(new TypeError('bug'))).toBeUndefined();
    expect(environmentError(undefined)).toBeUndefined();
  });
});

describe('diffLines: deploy and rollback print a generation diff in one order', () => {
  it('lists added, then changed, then removed, as deploy --dry-run and rollback both show them', () => {
    const d = diffLinks({ a: 'a-1', b: 'b-1', c: 'c-1' }, { b: 'b-2', c: 'c-1', d: 'd-1' });
    expect(diffLines(d)).toEqual(['  + d d-1', '  ~ b b-1 -> b-2', '  - a a-1']);
  });
});
