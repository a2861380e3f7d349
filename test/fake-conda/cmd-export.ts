/** `conda env export [-n|-p] [--no-builds] [--from-history] [-f FILE]`, including 4.3's --no-builds bug. */
import { writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { COMMON, flag, forVersion, list, NAME_OR_PREFIX, parseArgs, str, TARGET, type CmdDef } from './args.js';
import { loadChannelConfig } from './channels.js';
import { atLeast, cmpVersion, type Ctx } from './context.js';
import { jsonDump, notAnEnv } from './errors.js';
import { helpOr } from './help.js';
import { historySpecs, isEnv, pypiDists, readRecords, recordChannelName } from './prefix.js';
import { targetPrefix } from './target.js';
import { legacyPipSection } from './legacy-pip.js';

const EXPORT: CmdDef = {
  prog: 'conda env export',
  opts: [
    ...TARGET,
    { names: ['-c', '--channel'], kind: 'multi', metavar: 'CHANNEL' },
    { names: ['--override-channels'], kind: 'flag' },
    { names: ['-f', '--file'], kind: 'value', metavar: 'FILE' },
    { names: ['--no-builds'], kind: 'flag' },
    { names: ['--ignore-channels'], kind: 'flag' },
    { names: ['--from-history'], kind: 'flag', since: '4.7.12' },
    ...COMMON,
  ],
  positionals: 'none',
  exclusive: NAME_OR_PREFIX,
};

/** conda 4.3.0 .. 4.3.30 built `name=version=build` in both branches of `if no_builds` (fixed in 4.3.31). */
export const noBuildsIgnored = (version: string): boolean =>
  cmpVersion(version, '4.3.0') >= 0 && cmpVersion(version, '4.3.31') < 0;

export interface Exported {
  name: string;
  channels: string[];
  dependencies: Array<string | { pip: string[] }>;
  prefix: string;
}

export async function exportEnv(ctx: Ctx, argv: string[]): Promise<number> {
  const def = { ...EXPORT, opts: forVersion(EXPORT.opts, (v) => atLeast(ctx, v)) };
  const p = parseArgs(def, argv);
  if (helpOr(ctx, def, p)) return 0;
  const prefix = targetPrefix(ctx, p);
  if (!isEnv(prefix)) throw notAnEnv(prefix);
  const cfg = await loadChannelConfig(ctx);
  const name = str(p, 'name') ?? (prefix === ctx.root ? (atLeast(ctx, '4.6') ? 'base' : 'root') : basename(prefix));

  const configured = flag(p, 'override_channels') ? [] : [...cfg.channels];
  const channels = [...list(p, 'channel'), ...configured.filter((c) => !list(p, 'channel').includes(c))];
  const deps: Exported['dependencies'] = [];
  if (flag(p, 'from_history')) {
    deps.push(...historySpecs(prefix));
  } else {
    const records = readRecords(prefix);
    const keepBuilds = !flag(p, 'no_builds') || noBuildsIgnored(ctx.config.version);
    deps.push(...records.map((r) => (keepBuilds ? `${r.name}=${r.version}=${r.build}` : `${r.name}=${r.version}`)));
    if (!flag(p, 'ignore_channels')) {
      // every channel a package came from is prepended, as conda's from_environment does
      for (const r of records) {
        const ch = recordChannelName(r, cfg);
        if (!channels.includes(ch)) channels.unshift(ch);
      }
    }
    const pip = atLeast(ctx, '4.4')
      ? pypiDists(ctx, prefix, records).map((d) => `${d.name}==${d.version}`)
      : legacyPipSection(ctx, prefix, records);
    if (pip.length) deps.push({ pip });
  }
  const env: Exported = { name, channels, dependencies: deps, prefix };
  const text = flag(p, 'json') ? jsonDump(env) + '\n' : exportYaml(env);
  const file = str(p, 'file');
  if (file) writeFileSync(resolve(ctx.cwd, file), text);
  else ctx.out(text);
  return 0;
}

/** A YAML scalar that reads back as the same string. */
function scalar(s: string): string {
  const plain =
    /^[A-Za-z0-9_./~+@=<>!*-][^#]*$/.test(s) &&
    !/: |:$|\s$|^(true|false|yes|no|on|off|null|~|-?\d+(\.\d+)?(e\d+)?)$/i.test(s) &&
    !/^[-?:] /.test(s);
  return plain ? s : `'${s.replace(/'/g, "''")}'`;
}

/** Modern conda's layout: ruamel indent(mapping=2, offset=2, sequence=4); keys name, channels, dependencies, prefix. */
export function exportYaml(env: Exported): string {
  const lines = [`name: ${scalar(env.name)}`];
  if (env.channels.length) lines.push('channels:', ...env.channels.map((c) => `  - ${scalar(c)}`));
  if (env.dependencies.length) {
    lines.push('dependencies:');
    for (const d of env.dependencies) {
      if (typeof d === 'string') lines.push(`  - ${scalar(d)}`);
      else lines.push('  - pip:', ...d.pip.map((x) => `      - ${scalar(x)}`));
    }
  }
  lines.push(`prefix: ${scalar(env.prefix)}`);
  return lines.join('\n') + '\n';
}
