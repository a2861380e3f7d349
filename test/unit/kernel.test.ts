import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { managedKernels, shippedKernelSpecs, syncKernels, withShippedSpecs } from '../../scripts/state/kernel.js';
import { kernelName, kernelSpec, planKernels } from '../../scripts/core/kernel.js';
import { cleanTemporaries } from '../../scripts/state/generation.js';
import { tempDir } from '../fixtures/installation.js';
import { CorruptStateError } from '../../scripts/core/errors.js';

describe('kernelspecs', () => {
  let root: string;
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('argv: the launcher, then ROOT/envs (the path that follows every cutover); metadata marks it ours', () => {
    root = tempDir();
    expect(kernelSpec('/pkg/conda', { kernel: 'hlink', env: 'hlink', displayName: 'Hlink (Python 3)' })).toEqual({
      argv: [
        '/pkg/conda/kernels/.conda-gitops-launch',
        '/pkg/conda/envs/hlink',
        'hlink',
        '/pkg/conda/envs/hlink/bin/python',
        '-m',
        'ipykernel_launcher',
        '-f',
        '{connection_file}',
      ],
      display_name: 'Hlink (Python 3)',
      language: 'python',
      metadata: { debugger: true, conda_gitops: { env: 'hlink' } },
    });
  });

  it('names are lowercased like Jupyter stores them; two envs differing only by case are a problem', () => {
    root = tempDir();
    expect(kernelName('Super_Important.Kernel-2')).toBe('super_important.kernel-2');
    const { entries, problems } = planKernels([
      { name: 'Geo', displayName: 'G' },
      { name: 'geo', displayName: 'g' },
      { name: 'hlink', displayName: 'H' },
    ]);
    expect(entries.map((e) => e.kernel)).toEqual(['geo', 'hlink']);
    expect(problems[0]).toMatch(/'Geo' and 'geo' both map to kernelspec 'geo'/);
  });

  it('sync writes only what changed, removes only kernelspecs it wrote, leaves no temporary entries', () => {
    root = tempDir();
    const want = [
      { kernel: 'a', env: 'A', displayName: 'A' },
      { kernel: 'b', env: 'b', displayName: 'B' },
    ];
    expect(syncKernels(root, want)).toEqual({ written: ['a', 'b'], unchanged: [], removed: [] });
    expect(syncKernels(root, want)).toEqual({ written: [], unchanged: ['a', 'b'], removed: [] });
    mkdirSync(join(root, 'kernels', 'mine'));
    writeFileSync(
      join(root, 'kernels', 'mine', 'kernel.json'),
      JSON.stringify({ argv: ['x'], display_name: 'mine', language: 'python' }),
    );
    expect(managedKernels(root)).toEqual(['a', 'b']);
    const r = syncKernels(root, [{ kernel: 'a', env: 'A', displayName: 'A v2' }]);
    expect(r).toEqual({ written: ['a'], unchanged: [], removed: ['b'] });
    expect(readdirSync(join(root, 'kernels')).sort()).toEqual(['.conda-gitops-launch', 'a', 'mine']);
    expect(readdirSync(join(root, 'kernels', 'a'))).toEqual(['kernel.json']);
    expect(JSON.parse(readFileSync(join(root, 'kernels', 'a', 'kernel.json'), 'utf8')).argv.slice(1, 4)).toEqual([
      join(root, 'envs', 'A'),
      'A',
      join(root, 'envs', 'A', 'bin', 'python'),
    ]);
  });

  it('a kernel.json that is not a kernelspec is named, and the sync writes nothing', () => {
    root = tempDir();
    syncKernels(root, [{ kernel: 'a', env: 'a', displayName: 'A' }]);
    const file = join(root, 'kernels', 'a', 'kernel.json');
    writeFileSync(file, '{"argv": ');
    expect(() => managedKernels(root)).toThrow(`${file}: not a valid kernelspec (not JSON`);
    expect(() => syncKernels(root, [{ kernel: 'b', env: 'b', displayName: 'B' }])).toThrow(CorruptStateError);
    expect(readdirSync(join(root, 'kernels'))).toEqual(['.conda-gitops-launch', 'a']);
    expect(readFileSync(file, 'utf8')).toBe('{"argv": ');
  });

  it('a shipped kernelspec from a build: logo-* copied, a symlinked logo or kernel.json never followed', () => {
    root = tempDir();
    const build = join(root, 'v1', 'builds', 'geo', 'b1');
    const spec = join(build, 'share', 'jupyter', 'kernels', 'ir');
    mkdirSync(spec, { recursive: true });
    mkdirSync(join(build, 'conda-meta'));
    writeFileSync(join(spec, 'kernel.json'), JSON.stringify({ argv: [join(build, 'bin', 'R'), '{connection_file}'] }));
    writeFileSync(join(spec, 'logo-64x64.png'), 'png');
    writeFileSync(join(root, 'secret'), 'do not copy');
    symlinkSync(join(root, 'secret'), join(spec, 'logo-svg.svg'));
    const planted = join(build, 'share', 'jupyter', 'kernels', 'planted');
    mkdirSync(planted);
    symlinkSync(join(spec, 'kernel.json'), join(planted, 'kernel.json'));
    mkdirSync(join(root, 'envs'));
    symlinkSync(build, join(root, 'envs', 'geo'));
    const shipped = shippedKernelSpecs(join(root, 'envs', 'geo'));
    expect(Object.keys(shipped)).toEqual(['ir']);
    expect(shipped.ir!.logos).toEqual(['logo-64x64.png']);
    const [entry] = withShippedSpecs(root, [{ kernel: 'geo-ir', env: 'geo', displayName: 'Geo (R)', spec: 'ir' }]);
    syncKernels(root, [entry!]);
    expect(readdirSync(join(root, 'kernels', 'geo-ir')).sort()).toEqual(['kernel.json', 'logo-64x64.png']);
    expect(JSON.parse(readFileSync(join(root, 'kernels', 'geo-ir', 'kernel.json'), 'utf8')).argv.slice(3)).toEqual([
      join(root, 'envs', 'geo', 'bin', 'R'),
      '{connection_file}',
    ]);
  });

  it('a dry run reports without writing', () => {
    root = tempDir();
    expect(syncKernels(root, [{ kernel: 'a', env: 'a', displayName: 'A' }], { dryRun: true }).written).toEqual(['a']);
    expect(managedKernels(root)).toEqual([]);
  });

  it('what a killed write or removal leaves is swept under the lock', () => {
    root = tempDir();
    syncKernels(root, [{ kernel: 'a', env: 'a', displayName: 'A' }]);
    mkdirSync(join(root, 'kernels', '.b.new-4242'));
    mkdirSync(join(root, 'kernels', '.c.gone-4242'));
    writeFileSync(join(root, 'kernels', 'a', '.kernel.json.4242.tmp'), '{');
    cleanTemporaries(root, []);
    expect(readdirSync(join(root, 'kernels'))).toEqual(['.conda-gitops-launch', 'a']);
    expect(readdirSync(join(root, 'kernels', 'a'))).toEqual(['kernel.json']);
  });

  it('never writes through a symlink planted under ROOT/kernels', () => {
    root = tempDir();
    const outside = tempDir('kernel-outside-');
    try {
      const want = [{ kernel: 'hlink', env: 'hlink', displayName: 'H' }];
      // ROOT/kernels/hlink -> OUTSIDE (a directory), and ROOT/kernels/census/kernel.json -> OUTSIDE/file
      mkdirSync(join(root, 'kernels', 'census'), { recursive: true });
      symlinkSync(outside, join(root, 'kernels', 'hlink'));
      expect(() => syncKernels(root, want)).toThrow(/kernels\/hlink is a symlink: refused/);
      writeFileSync(join(outside, 'victim'), 'keep');
      symlinkSync(join(outside, 'victim'), join(root, 'kernels', 'census', 'kernel.json'));
      const census = [{ kernel: 'census', env: 'census', displayName: 'C' }];
      expect(() => syncKernels(root, census)).toThrow(/kernels\/census\/kernel\.json is a symlink: refused/);
      expect(readdirSync(outside)).toEqual(['victim']);
      expect(readFileSync(join(outside, 'victim'), 'utf8')).toBe('keep');
      // ROOT/kernels itself a symlink
      rmSync(join(root, 'kernels'), { recursive: true });
      symlinkSync(outside, join(root, 'kernels'));
      expect(() => syncKernels(root, want)).toThrow(/kernels is a symlink: refused/);
      expect(existsSync(join(outside, 'hlink'))).toBe(false);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});
