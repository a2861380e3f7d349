import { describe, expect, test } from 'vitest';
import { classifyPipEntry, normalizePipName } from '../../scripts/core/pip.js';
import type { PipKind } from '../../scripts/core/types.js';
import { corpusFiles, corpusPresent, corpusText } from '../fixtures/repo.js';
import { parseSpec } from '../../scripts/core/spec.js';

describe('classifyPipEntry: every shape of a pip requirements line', () => {
  test.each<[string, PipKind, string | undefined, string | undefined]>([
    ['requests==2.31.0', 'pinned', 'requests', '2.31.0'],
    ['requests === 2.31.0', 'pinned', 'requests', '2.31.0'],
    ['ray[rllib]==0.8.5', 'pinned', 'ray', '0.8.5'],
    ['torch==2.1.0+cu118', 'pinned', 'torch', '2.1.0+cu118'],
    ['numpy>=1.20,<2', 'range', 'numpy', undefined],
    ['numpy ~= 1.26', 'range', 'numpy', undefined],
    ['Django!=4.0', 'range', 'Django', undefined],
    ['importlib-metadata; python_version < "3.8"', 'name', 'importlib-metadata', undefined],
    ['rich', 'name', 'rich', undefined],
    ['opencv-python-headless', 'name', 'opencv-python-headless', undefined],
    ['six --hash=sha256:abc', 'name', 'six', undefined],
    ['git+https://github.com/ipums/hlink.git@v3.5#egg=hlink', 'git', 'hlink', undefined],
    ['git+https://github.com/openai/CLIP.git', 'git', 'CLIP', undefined],
    ['git+ssh://git@github.com/org/private-tool.git@main', 'git', 'private-tool', undefined],
    ['clip @ git+https://github.com/openai/CLIP.git', 'git', 'clip', undefined],
    ['mypkg @ https://example.org/mypkg-1.0-py3-none-any.whl', 'url', 'mypkg', undefined],
    ['https://example.org/pkg.tar.gz#egg=pkg', 'url', 'pkg', undefined],
    [
      '-e git+https://github.com/CompVis/taming-transformers.git@master#egg=taming-transformers',
      'git',
      'taming-transformers',
      undefined,
    ],
    ['-e .', 'editable', undefined, undefined],
    ['--editable ./src/pkg', 'editable', undefined, undefined],
    ['-r requirements.txt', 'requirements', undefined, undefined],
    ['--requirement=dev.txt', 'requirements', undefined, undefined],
    ['--extra-index-url https://download.pytorch.org/whl/cu118', 'option', undefined, undefined],
    ['--index-url=https://pypi.example.org/simple', 'option', undefined, undefined],
    ['-f https://data.pyg.org/whl/torch-2.0.0.html', 'option', undefined, undefined],
    ['./vendor/tool', 'path', undefined, undefined],
    ['/opt/wheels/tool-1.0-py3-none-any.whl', 'path', undefined, undefined],
    ['tool-1.0.tar.gz', 'path', undefined, undefined],
  ])('%s -> %s', (text, kind, name, version) => {
    const { entry, problem } = classifyPipEntry(text, 7);
    expect(problem).toBeUndefined();
    expect(entry.kind).toBe(kind);
    expect(entry.name).toBe(name);
    expect(entry.version).toBe(version);
    expect(entry.line).toBe(7);
  });

  test('a trailing comment is not part of the entry', () => {
    expect(classifyPipEntry('pycairo==1.19.1 # fails!', 3).entry).toMatchObject({
      text: 'pycairo==1.19.1',
      kind: 'pinned',
      version: '1.19.1',
    });
  });

  test.each([
    ['requests=2.0', "'requests=2.0' is not a valid pip requirement (pip uses '==' for versions)"],
    ['numpy 1.2', "'numpy 1.2' is not a valid pip requirement (pip uses '==' for versions)"],
    ['!!!', "not a pip requirement: '!!!'"],
  ])('%s is a problem for the spec line', (text, message) => {
    expect(classifyPipEntry(text, 9).problem).toBe(message);
  });
});

test('normalizePipName follows PEP 503', () => {
  expect(normalizePipName('Foo_Bar.baz')).toBe('foo-bar-baz');
  expect(normalizePipName('ruamel.yaml')).toBe('ruamel-yaml');
  expect(normalizePipName('typing__extensions')).toBe('typing-extensions');
});

describe.skipIf(!corpusPresent)('pip entries in the real corpus', () => {
  test('every entry is classified, with a name wherever one is written', () => {
    const kinds = new Map<PipKind, number>();
    for (const f of corpusFiles()) {
      const { spec } = parseSpec(corpusText(f), f, 'demo');
      for (const p of spec?.pip ?? []) {
        kinds.set(p.kind, (kinds.get(p.kind) ?? 0) + 1);
        if (p.kind === 'pinned' || p.kind === 'range') expect(p.name, `${f}:${p.line} ${p.text}`).toBeTruthy();
        if (p.kind === 'pinned') expect(p.text, `${f}:${p.line}`).toContain(`==${p.version}`);
      }
    }
    // the corpus has every common shape: pins, ranges, git URLs, editables, -r and index options
    for (const kind of ['pinned', 'range', 'name', 'git', 'editable', 'requirements', 'option'] as const) {
      expect(kinds.get(kind), kind).toBeGreaterThan(0);
    }
  });
});
