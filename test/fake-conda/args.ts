/** A small argparse: the option syntax conda's CLI accepts, and argparse's errors (exit 2). */
import { ArgparseError, MAIN_USAGE } from './errors.js';

export type OptKind = 'flag' | 'value' | 'multi' | 'count';

export interface OptDef {
  /** e.g. ['-n', '--name']; the last long name (without --, dashes -> _) is the key */
  names: string[];
  kind: OptKind;
  metavar?: string;
  /** option exists only in conda >= since */
  since?: string;
}

export interface CmdDef {
  /** "conda env create" */
  prog: string;
  opts: OptDef[];
  /** how many positionals: 'none', 'optional' (0..1), 'many' (0..n), 'rest' (first positional and all after it) */
  positionals: 'none' | 'optional' | 'many' | 'rest';
  posName?: string;
  /** groups of option keys that are mutually exclusive */
  exclusive?: string[][];
}

export interface Parsed {
  opts: Record<string, string | boolean | string[] | number | undefined>;
  pos: string[];
  help: boolean;
}

export const keyOf = (d: OptDef): string => {
  const long = [...d.names].reverse().find((n) => n.startsWith('--')) ?? d.names[0];
  return long.replace(/^-+/, '').replace(/-/g, '_');
};

const label = (d: OptDef): string => d.names.join('/');

export function usage(def: CmdDef): string {
  const parts = ['[-h]'];
  for (const d of def.opts) {
    const n = d.names[0];
    parts.push(d.kind === 'value' || d.kind === 'multi' ? `[${n} ${d.metavar ?? keyOf(d).toUpperCase()}]` : `[${n}]`);
  }
  if (def.positionals === 'optional') parts.push(`[${def.posName ?? 'arg'}]`);
  if (def.positionals === 'many') parts.push(`[${def.posName ?? 'arg'} ...]`);
  if (def.positionals === 'rest') parts.push(`${def.posName ?? 'executable_call'} ...`);
  return `usage: ${def.prog} ${parts.join(' ')}`;
}

export function parseArgs(def: CmdDef, argv: string[]): Parsed {
  const fail = (msg: string): never => {
    throw new ArgparseError(usage(def), def.prog, msg);
  };
  const opts: Parsed['opts'] = {};
  const pos: string[] = [];
  const unknown: string[] = [];
  const seen: string[] = [];
  let help = false;

  const longs = def.opts.flatMap((d) => d.names.filter((n) => n.startsWith('--')).map((n) => [n, d] as const));
  const findLong = (name: string): OptDef | undefined => {
    const exact = longs.find(([n]) => n === name);
    if (exact) return exact[1];
    // argparse accepts any unambiguous prefix of a long option (--no-build -> --no-builds)
    const hits = longs.filter(([n]) => n.startsWith(name));
    const defs = [...new Set(hits.map(([, d]) => d))];
    if (defs.length > 1) fail(`ambiguous option: ${name} could match ${hits.map(([n]) => n).join(', ')}`);
    return defs[0];
  };
  const set = (d: OptDef, value: string | undefined): void => {
    const k = keyOf(d);
    seen.push(k);
    if (d.kind === 'flag') opts[k] = true;
    else if (d.kind === 'count') opts[k] = ((opts[k] as number | undefined) ?? 0) + 1;
    else if (d.kind === 'multi') opts[k] = [...((opts[k] as string[] | undefined) ?? []), value as string];
    else opts[k] = value;
  };

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (def.positionals === 'rest' && pos.length > 0) {
      pos.push(a);
      continue;
    }
    if (a === '--') {
      pos.push(...argv.slice(i + 1));
      break;
    }
    if (a === '-h' || a === '--help') {
      help = true;
      continue;
    }
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(0, eq) : a;
      const d = findLong(name);
      if (!d) {
        unknown.push(a);
        continue;
      }
      if (d.kind === 'value' || d.kind === 'multi') {
        let v = eq > 0 ? a.slice(eq + 1) : argv[i + 1];
        if (eq < 0) {
          if (v === undefined || (v.startsWith('-') && v.length > 1))
            fail(`argument ${label(d)}: expected one argument`);
          i++;
        }
        set(d, v);
      } else {
        if (eq > 0) fail(`argument ${label(d)}: ignored explicit argument '${a.slice(eq + 1)}'`);
        set(d, undefined);
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1 && !/^-\d/.test(a)) {
      // a cluster of short options: -yq, -nNAME, -n NAME
      for (let j = 1; j < a.length; j++) {
        const d = def.opts.find((o) => o.names.includes(`-${a[j]}`));
        if (a[j] === 'h') {
          help = true;
          continue;
        }
        if (!d) {
          unknown.push(j === 1 ? a : `-${a.slice(j)}`);
          break;
        }
        if (d.kind === 'value' || d.kind === 'multi') {
          let v = a.slice(j + 1);
          if (!v) {
            v = argv[i + 1];
            if (v === undefined || (v.startsWith('-') && v.length > 1))
              fail(`argument ${label(d)}: expected one argument`);
            i++;
          }
          set(d, v);
          break;
        }
        set(d, undefined);
      }
      continue;
    }
    pos.push(a);
  }

  if (help) return { opts, pos, help };
  const maxPos = def.positionals === 'none' ? 0 : def.positionals === 'optional' ? 1 : Infinity;
  if (pos.length > maxPos) unknown.push(...pos.splice(maxPos));
  if (unknown.length) throw new ArgparseError(MAIN_USAGE, 'conda', `unrecognized arguments: ${unknown.join(' ')}`);
  for (const group of def.exclusive ?? []) {
    const used = group.filter((k) => seen.includes(k));
    if (used.length > 1) {
      const d = (k: string) => label(def.opts.find((o) => keyOf(o) === k) as OptDef);
      fail(`argument ${d(used[1])}: not allowed with argument ${d(used[0])}`);
    }
  }
  if (def.positionals === 'rest' && pos.length === 0)
    fail(`the following arguments are required: ${def.posName ?? 'executable_call'}`);
  return { opts, pos, help };
}

/** Options most conda subcommands share. */
export const COMMON: OptDef[] = [
  { names: ['--json'], kind: 'flag' },
  { names: ['-v', '--verbose'], kind: 'count' },
  { names: ['-q', '--quiet'], kind: 'flag' },
  { names: ['--debug'], kind: 'flag' },
];
export const TARGET: OptDef[] = [
  { names: ['-n', '--name'], kind: 'value', metavar: 'ENVIRONMENT' },
  { names: ['-p', '--prefix'], kind: 'value', metavar: 'PATH' },
];
export const CHANNELS: OptDef[] = [
  { names: ['-c', '--channel'], kind: 'multi', metavar: 'CHANNEL' },
  { names: ['--override-channels'], kind: 'flag' },
  { names: ['--offline'], kind: 'flag' },
];
export const NAME_OR_PREFIX = [['name', 'prefix']];

/** Drop options the played conda version does not have yet, so using them is an argparse error. */
export function forVersion(opts: OptDef[], atLeast: (v: string) => boolean): OptDef[] {
  return opts.filter((o) => !o.since || atLeast(o.since));
}

export const str = (p: Parsed, k: string): string | undefined => p.opts[k] as string | undefined;
export const flag = (p: Parsed, k: string): boolean => Boolean(p.opts[k]);
export const list = (p: Parsed, k: string): string[] => (p.opts[k] as string[] | undefined) ?? [];

/** Help text: usage plus one line per option. */
export function helpText(def: CmdDef): string {
  const lines = [usage(def), '', 'options:', '  -h, --help            show this help message and exit'];
  for (const d of def.opts) {
    const names =
      d.names.join(', ') + (d.kind === 'value' || d.kind === 'multi' ? ` ${d.metavar ?? keyOf(d).toUpperCase()}` : '');
    lines.push(`  ${names}`);
  }
  return lines.join('\n') + '\n';
}
