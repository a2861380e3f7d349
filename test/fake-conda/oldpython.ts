/**
 * An env whose channel record says python < 3.8 (the interpreter is still the host's): its python has no
 * `importlib.metadata`, like a real 2.7–3.7. A `sitecustomize.py` in the env's site-packages blocks the module;
 * pip, which uses it on a new python, is told to use its pkg_resources backend as on an old one.
 */
import type { Ctx } from './context.js';
import { cmpVersion } from './context.js';

const SITECUSTOMIZE = [
  '# fake conda: this env plays a python without importlib.metadata (< 3.8)',
  'import os, sys, importlib',
  "os.environ.setdefault('_PIP_USE_IMPORTLIB_METADATA', '0')",
  "sys.modules['importlib.metadata'] = None",
  "if 'metadata' in vars(importlib):",
  '    del importlib.metadata',
  '',
].join('\n');

/** Files that make the env's python act like `recordVersion` when that is older than 3.8 (none otherwise). */
export function oldPythonFiles(ctx: Ctx, recordVersion: string | undefined): Array<[string, string]> {
  if (!recordVersion || cmpVersion(recordVersion, '3.8') >= 0) return [];
  const minor = ctx.config.pythonVersion.split('.').slice(0, 2).join('.');
  return [[`lib/python${minor}/site-packages/sitecustomize.py`, SITECUSTOMIZE]];
}
