/**
 * What a build reads from the local file system (core/build-reads.ts): the sandbox's /tmp is private, so every
 * local source the plan names must be bound back, and nothing else.
 */
import { describe, expect, test } from 'vitest';
import { buildReadPaths, localPathOf } from '../../scripts/core/build-reads.js';
import { classifyPipEntry } from '../../scripts/core/pip.js';
import type { EnvSpec, Inventory } from '../../scripts/core/types.js';

const spec = (channels: string[], pip: string[], deps: EnvSpec['dependencies'] = []): EnvSpec =>
  ({
    file: 'env-specs/a.yml',
    name: 'a',
    channels,
    dependencies: deps,
    pip: pip.map((p, i) => classifyPipEntry(p, i + 1).entry),
    variables: {},
  }) as unknown as EnvSpec;
const conda = (extra: Partial<Inventory['conda']> = {}) =>
  ({ version: '24.1.2', frontend: 'conda', line: 1, ...extra }) as Inventory['conda'];

describe('buildReadPaths: the local paths a build reads', () => {
  test('local and file:// channels of the spec and of the inventory, not remote ones', () => {
    const paths = buildReadPaths({
      spec: spec(['/tmp/ch1', 'file:///tmp/ch%202', 'conda-forge', 'https://example.org/ch'], []),
      conda: conda({
        channels: ['file://localhost/tmp/allowed'],
        customChannels: { mirror: 'file:///tmp/mirror' },
        channelAlias: 'file:///tmp/alias',
        defaultChannels: ['/tmp/defaults', 'https://repo.example/main'],
      }),
      specDir: '/repo/env-specs',
      env: {},
    });
    expect(paths).toEqual(['/tmp/ch1', '/tmp/ch 2', '/tmp/allowed', '/tmp/mirror', '/tmp/alias', '/tmp/defaults']);
  });
  test("pip's local sources: paths, -e, -r, git+file, file URLs, --find-links, and the runner's PIP_ settings", () => {
    const paths = buildReadPaths({
      spec: spec(
        [],
        [
          './pkg',
          '-e ../shared/tool',
          '-r reqs/base.txt',
          'git+file:///tmp/repos/hlink@v1.0#egg=hlink',
          '--find-links /tmp/wheels',
          '--extra-index-url https://pypi.example/simple',
          'requests==2.31.0',
        ],
      ),
      conda: conda(),
      specDir: '/repo/env-specs',
      env: { PIP_FIND_LINKS: '/tmp/runner-wheels https://x.example/w', PIP_INDEX_URL: 'file:///srv/index', HOME: '/h' },
    });
    expect(paths).toEqual([
      '/repo/env-specs/pkg',
      '/repo/shared/tool',
      '/repo/env-specs/reqs/base.txt',
      '/tmp/repos/hlink',
      '/tmp/wheels',
      '/tmp/runner-wheels',
      '/srv/index',
    ]);
  });
  test("'..' in a file:// URL is resolved away (the sandbox refuses '..' in a bound path)", () => {
    expect(localPathOf('file:///tmp/a/../b')).toBe('/tmp/b');
    expect(localPathOf('https://example.org/x')).toBeUndefined();
    expect(localPathOf('conda-forge')).toBeUndefined();
  });
});
