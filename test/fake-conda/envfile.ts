/** Reading an environment.yml the way `conda env create -f` does. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { yaml, type Ctx } from './context.js';
import { CondaError } from './errors.js';
import { PythonCrash } from './crash.js';
import { atLeast } from './context.js';

export interface EnvFile {
  path: string;
  name?: string;
  prefix?: string;
  channels: string[];
  /** conda MatchSpecs */
  conda: string[];
  /** lines of the `pip:` list, or null when there is none */
  pip: string[] | null;
  variables: Record<string, string>;
}

const VALID_KEYS = ['name', 'prefix', 'channels', 'dependencies', 'variables'];

/** `cliName`: `env create -n NAME` (4.3's spec detection reads it). */
export async function readEnvFile(ctx: Ctx, file: string, cliName?: string): Promise<EnvFile> {
  const path = resolve(ctx.cwd, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new CondaError('EnvironmentFileNotFound', `'${path}' file not found`, { filename: path });
  }
  let data: unknown;
  try {
    data = yaml(ctx).load(text);
  } catch (e) {
    throw new CondaError('CondaValueError', `Invalid YAML in ${path}: ${(e as Error).message}`);
  }
  if (data === null || data === undefined || data === '')
    throw new CondaError('EnvironmentFileEmpty', `'${path}' is empty`, { filename: path });
  if (typeof data !== 'object' || Array.isArray(data))
    throw new CondaError('CondaValueError', `Invalid environment file ${path}: expected a mapping`);
  const d = data as Record<string, unknown>;

  // `variables:` arrived in conda 4.9 (conda_env/env.py): 4.6-4.8 validate keys and drop it with the notice;
  // 4.4-4.5 pass every key to Environment(**data), which has no `variables` argument (source reading)
  if ('variables' in d && !atLeast(ctx, '4.4')) {
    // 4.3.x: YamlFileSpec.can_handle catches the TypeError, so specs.detect ends with the BinstarSpec's message
    // about the -n name (conda_env/specs/__init__.py, binstar.py at 4.3.22; real conda 4.3.22, probe variables)
    throw new CondaError(
      'SpecNotFound',
      cliName === undefined ? "Can't process without a name" : 'Invalid name, try the format: user/package',
    );
  }
  if ('variables' in d && !atLeast(ctx, '4.6')) {
    throw new PythonCrash(
      'TypeError',
      "__init__() got an unexpected keyword argument 'variables'",
      `File "${ctx.root}/lib/python3.6/site-packages/conda_env/env.py", line 44, in from_dict`,
    );
  }
  const valid = atLeast(ctx, '4.9') ? VALID_KEYS : VALID_KEYS.filter((k) => k !== 'variables');
  const invalid = Object.keys(d).filter((k) => !valid.includes(k));
  if (invalid.length) {
    ctx.err(
      `EnvironmentSectionNotValid: The following section on '${path}' is invalid and will be ignored:\n` +
        `${invalid.map((k) => ` - ${k}`).join('\n')}\n\n`,
    );
  }
  const conda: string[] = [];
  let pip: string[] | null = null;
  for (const dep of (d.dependencies as unknown[] | null | undefined) ?? []) {
    if (dep && typeof dep === 'object' && !Array.isArray(dep)) {
      const p = (dep as Record<string, unknown>).pip;
      if (Array.isArray(p)) pip = [...(pip ?? []), ...p.map(String)];
    } else if (dep !== null && dep !== undefined) conda.push(String(dep));
  }
  const expand = (s: string) => s.replace(/\$\{?(\w+)\}?/g, (m, v: string) => ctx.env[v] ?? m);
  const variables: Record<string, string> = {};
  const declared = valid.includes('variables') ? (d.variables as Record<string, unknown> | undefined) : undefined;
  for (const [k, v] of Object.entries(declared ?? {})) variables[k] = String(v);
  return {
    path,
    name: d.name === undefined || d.name === null ? undefined : String(d.name),
    prefix: typeof d.prefix === 'string' ? d.prefix : undefined,
    channels: ((d.channels as unknown[] | undefined) ?? []).map((c) => expand(String(c))),
    conda,
    pip,
    variables,
  };
}
