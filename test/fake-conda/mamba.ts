/**
 * Entry point of the fake `mamba` and `micromamba` (ROOT/bin/mamba, ROOT/bin/micromamba run `mamba.js <as> ARGS`).
 *
 * - mamba 1.x is a Python front-end over conda: conda's CLI, flags and exceptions, its own `--version` (two lines)
 *   and libmamba's solver texts (`Could not solve for environment specs`, `... does not exist (perhaps a typo or a
 *   missing channel).`).
 * - mamba 2.x and micromamba are the same C++ program (libmamba): `-r/--root-prefix`, errors as log lines
 *   (`critical libmamba <msg>`), the pip step run `--quiet` ending in `pip failed to install packages`, `env export`
 *   and `search --json` in their own shapes, `clean` refusing `-r`, CLI11 usage errors (exit 109).
 * - root prefix (mamba-org/mamba libmamba/src/api/configuration.cpp): `-r`, else an inherited `MAMBA_ROOT_PREFIX`
 *   (every 2.x), else mamba 2.0.0–2.0.5 take the parent of the first `mamba` on PATH (not the binary being run;
 *   none: "`mamba` binary not found. Please set `MAMBA_ROOT_PREFIX`."), mamba 2.0.6+ their own location, and
 *   micromamba its default root (~/.local/share/mamba; 1.x ~/micromamba).
 * The commands themselves are the fake conda's (cmd-*.ts), run with the resolved root and `ctx.frontend` set.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { channelList, channelUrls, loadChannelConfig, PLATFORM } from './channels.js';
import { cmpVersion, libmambaCli, loadContext, type Ctx } from './context.js';
import { ArgparseError, CondaError, CondaExit, jsonDump } from './errors.js';
import { isEnv, pypiDists, readRecords, recordChannelName } from './prefix.js';

type Handler = (ctx: Ctx, argv: string[]) => Promise<number>;

const HANDLERS: Record<string, () => Promise<Handler>> = {
  info: async () => (await import('./cmd-info.js')).info,
  list: async () => (await import('./cmd-list.js')).list,
  create: async () => (await import('./cmd-create.js')).create,
  install: async () => (await import('./cmd-install.js')).install,
  remove: async () => (await import('./cmd-remove.js')).remove,
  run: async () => (await import('./cmd-run.js')).run,
  clean: async () => (await import('./cmd-clean.js')).clean,
  search: async () => (await import('./cmd-search.js')).search,
  'env list': async () => (await import('./cmd-info.js')).envList,
  'env create': async () => (await import('./cmd-create.js')).envCreate,
  'env export': async () => (await import('./cmd-export.js')).exportEnv,
  'env remove': async () => (await import('./cmd-remove.js')).envRemove,
};

/**
 * CLI11's exit codes per error (CLI11 `include/CLI/Error.hpp`, `enum class ExitCodes`, the parser of micromamba and
 * mamba 2): 104 ConversionError, 105 ValidationError, 106 RequiredError, 109 ExtrasError (an argument not
 * expected), 114 ArgumentMismatch (an option without its value: `-p: 1 required TEXT missing`).
 */
export const CLI11_EXIT = { conversion: 104, validation: 105, required: 106, extras: 109, argumentMismatch: 114 };

/** CLI11's parse errors (micromamba's argument parser): message, a hint line, its exit code (CLI11_EXIT). */
class Cli11Error extends Error {
  constructor(
    message: string,
    readonly exitCode: number = CLI11_EXIT.extras,
  ) {
    super(message);
  }
}
const notExpected = (args: string[]) =>
  new Cli11Error(`The following argument${args.length > 1 ? 's were' : ' was'} not expected: ${args.join(' ')}`);

function commandOf(argv: string[]): { key: string; rest: string[] } {
  if (argv[0] === 'env' && argv[1] && !argv[1].startsWith('-')) return { key: `env ${argv[1]}`, rest: argv.slice(2) };
  return { key: argv[0] ?? '', rest: argv.slice(1) };
}

/** Take `-r DIR` / `--root-prefix DIR` / `--root-prefix=DIR` out of argv. */
function takeRoot(argv: string[]): { root?: string; rest: string[]; given: string[] } {
  const rest: string[] = [];
  const given: string[] = [];
  let root: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-r' || a === '--root-prefix') {
      root = argv[++i];
      given.push(a, root ?? '');
      if (root === undefined) throw new Cli11Error(`${a}: 1 required TEXT missing`, CLI11_EXIT.argumentMismatch);
    } else if (a.startsWith('--root-prefix=')) {
      root = a.slice('--root-prefix='.length);
      given.push(a);
    } else rest.push(a);
  }
  return { ...(root !== undefined ? { root } : {}), rest, given };
}

/** The first `mamba` on PATH, as mamba 2.0.0–2.0.5 look for it. */
function mambaOnPath(env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const exe = join(dir, 'mamba');
    try {
      if (statSync(exe).isFile()) return exe;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** The root prefix a libmamba CLI works on (see the file comment). */
function rootPrefix(ctx: Ctx, as: 'mamba' | 'micromamba', version: string, flagRoot: string | undefined): string {
  if (flagRoot !== undefined) return resolve(ctx.cwd, flagRoot);
  if (ctx.env.MAMBA_ROOT_PREFIX) return resolve(ctx.cwd, ctx.env.MAMBA_ROOT_PREFIX);
  if (as === 'mamba') {
    if (cmpVersion(version, '2.0.6') >= 0) return ctx.root;
    const found = mambaOnPath(ctx.env);
    if (!found) throw new CondaError('libmamba', '`mamba` binary not found. Please set `MAMBA_ROOT_PREFIX`.');
    return dirname(dirname(found));
  }
  const home = ctx.env.HOME ?? '/';
  return cmpVersion(version, '2') >= 0 ? join(home, '.local', 'share', 'mamba') : join(home, 'micromamba');
}

/** Options of micromamba's `create` / `env create` the fake understands; anything else is a CLI11 error. */
function parseCreate(argv: string[]) {
  const o = { yes: false, json: false, quiet: false, override: false, files: [] as string[], channels: [] as string[] };
  let prefix: string | undefined;
  let name: string | undefined;
  const specs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Cli11Error(`${a}: 1 required TEXT missing`, CLI11_EXIT.argumentMismatch);
      return v;
    };
    if (a === '-y' || a === '--yes') o.yes = true;
    else if (a === '--json') o.json = true;
    else if (a === '-q' || a === '--quiet') o.quiet = true;
    else if (a === '--override-channels') o.override = true;
    else if (a === '-f' || a === '--file') o.files.push(value());
    else if (a === '-c' || a === '--channel') o.channels.push(value());
    else if (a === '-p' || a === '--prefix') prefix = value();
    else if (a === '-n' || a === '--name') name = value();
    else if (a.startsWith('-')) throw notExpected([a]);
    else specs.push(a);
  }
  return { ...o, prefix, name, specs };
}

/** micromamba `create`: its own checks on the target, then the shared transaction code. */
async function createCmd(ctx: Ctx, argv: string[]): Promise<number> {
  const o = parseCreate(argv);
  const prefix =
    o.prefix !== undefined ? resolve(ctx.cwd, o.prefix) : o.name ? join(ctx.root, 'envs', o.name) : undefined;
  if (!prefix) throw new CondaError('libmamba', 'No target prefix specified');
  if (prefix === ctx.root) throw new CondaError('libmamba', 'Overwriting root prefix is not permitted - aborting.');
  if (existsSync(prefix)) {
    // 2.0.0-2.1.x: any existing path that is not an env, an empty directory too, is refused; 2.2.0 takes an empty
    // directory ("Using existing empty folder as target prefix") (mamba-org/mamba libmamba/src/api/create.cpp:
    // 2.1.0 lines 50-69, 2.2.0 lines 53-83)
    if (cmpVersion(ctx.config.mambaVersion ?? '2.0.5', '2.2') < 0 && !isEnv(prefix)) {
      ctx.err('error    libmamba Non-conda folder exists at prefix\n');
      throw new CondaError('libmamba', 'Aborting.');
    }
    if (!statSync(prefix).isDirectory())
      throw new CondaError('libmamba', 'Target prefix already exists and is not a folder - aborting.');
    if (!isEnv(prefix) && readdirSync(prefix).length)
      throw new CondaError('libmamba', 'Non-conda folder exists at prefix - aborting.');
    if (isEnv(prefix) && !o.yes) throw new CondaExit(1, 'Aborted.');
  }
  const common = [...(o.json ? ['--json'] : []), ...(o.quiet ? ['-q'] : [])];
  if (o.files.length) {
    if (o.files.length > 1 || o.specs.length)
      throw new CondaError('libmamba', 'the fake micromamba takes one -f file and no specs beside it');
    const envCreate = await HANDLERS['env create']!();
    return envCreate(ctx, ['-f', o.files[0]!, '-p', prefix, '--force', ...common]);
  }
  const create = await HANDLERS.create!();
  const channels = [...(o.override ? ['--override-channels'] : []), ...o.channels.flatMap((c) => ['-c', c])];
  return create(ctx, ['-y', '-p', prefix, ...channels, ...common, ...o.specs]);
}

/** `micromamba env export`: channels of the installed packages, sorted; 2-space items (1.x: flush left). */
async function exportCmd(ctx: Ctx, argv: string[], version: string): Promise<number> {
  let prefix = ctx.env.CONDA_PREFIX || ctx.root;
  let name: string | undefined;
  const f = { noBuild: false, json: false, subdir: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-p' || a === '--prefix') prefix = resolve(ctx.cwd, argv[++i] ?? '');
    else if (a === '-n' || a === '--name') {
      name = argv[++i] ?? '';
      prefix = join(ctx.root, 'envs', name);
    } else if (a === '--no-build' || a === '--no-builds') f.noBuild = true;
    else if (a === '--json') f.json = true;
    else if (a === '--channel-subdir') f.subdir = true;
    else if (a === '--from-history' || a === '--md5' || a === '-e' || a === '--explicit')
      throw new CondaError('libmamba', `the fake micromamba does not implement env export ${a}`);
    else throw notExpected([a]);
  }
  if (!isEnv(prefix)) throw new CondaError('libmamba', `No prefix found at: ${prefix}`);
  const cfg = await loadChannelConfig(ctx);
  const records = readRecords(prefix);
  const channels = [...new Set(records.map((r) => recordChannelName(r, cfg)))].sort();
  const deps: Array<string | { pip: string[] }> = records.map(
    (r) =>
      `${f.subdir ? `${recordChannelName(r, cfg)}/${r.subdir}::` : ''}${r.name}=${r.version}` +
      (f.noBuild ? '' : `=${r.build}`),
  );
  const pip = pypiDists(ctx, prefix, records).map((d) => `${d.name}==${d.version}`);
  if (pip.length) deps.push({ pip });
  const envName = name ?? (prefix === ctx.root ? 'base' : basename(prefix));
  if (f.json) {
    ctx.out(JSON.stringify({ channels, dependencies: deps, name: envName, prefix }, null, 4) + '\n');
    return 0;
  }
  const item = cmpVersion(version, '2') >= 0 ? '  - ' : '- ';
  const sub = cmpVersion(version, '2') >= 0 ? '    - ' : '  - ';
  const lines = [`name: ${envName}`, 'channels:', ...channels.map((c) => `${item}${c}`), 'dependencies:'];
  for (const d of deps) {
    if (typeof d === 'string') lines.push(`${item}${d}`);
    else lines.push(`${item}pip:`, ...d.pip.map((x) => `${sub}${x}`));
  }
  lines.push('', `prefix: ${prefix}`);
  ctx.out(lines.join('\n') + '\n');
  return 0;
}

/** `micromamba search --json`: `{"query": ..., "result": {"msg", "pkgs": [...], "status"}}`; nothing found is []. */
async function searchCmd(ctx: Ctx, argv: string[]): Promise<number> {
  const search = await HANDLERS.search!();
  let captured = '';
  const out = ctx.out;
  const json = argv.includes('--json');
  const query = argv.filter((a, i) => !a.startsWith('-') && !['-c', '--channel'].includes(argv[i - 1] ?? ''));
  let pkgs: unknown[] = [];
  try {
    ctx.out = (t) => {
      captured += t;
    };
    await search(ctx, json ? argv : [...argv, '--json']);
    for (const v of Object.values(JSON.parse(captured) as Record<string, unknown>))
      if (Array.isArray(v)) pkgs.push(...v);
  } catch (e) {
    if (!(e instanceof CondaError && e.className === 'PackagesNotFoundError')) throw e;
    pkgs = [];
  } finally {
    ctx.out = out;
  }
  if (json) {
    ctx.out(
      JSON.stringify(
        { query: { query: query[0] ?? '', type: 'search' }, result: { msg: '', pkgs, status: 'OK' } },
        null,
        4,
      ) + '\n',
    );
  } else if (!pkgs.length) ctx.out('No entries matching "' + (query[0] ?? '') + '" found\n');
  else {
    for (const p of pkgs as Array<{ name: string; version: string; build: string; channel: string }>)
      ctx.out(`${p.name.padEnd(20)} ${p.version.padEnd(12)} ${p.build.padEnd(20)} ${p.channel}\n`);
  }
  return 0;
}

/** `micromamba info --json`: libmamba's keys. */
async function infoCmd(ctx: Ctx, argv: string[], as: string, version: string): Promise<number> {
  const cfg = await loadChannelConfig(ctx);
  const info = {
    'base environment': ctx.root,
    channels: channelUrls(channelList(cfg, [], false)),
    'env location': '-',
    'envs directories': [join(ctx.root, 'envs')],
    environment: 'None (not found)',
    'libmamba version': version,
    [`${as} version`]: version,
    'package cache': [join(ctx.root, 'pkgs')],
    platform: PLATFORM,
    'populated config files': [join(ctx.root, '.condarc')].filter((f) => existsSync(f)),
    'virtual packages': ['__unix=0=0', '__linux=6.1=0', '__glibc=2.36=0', '__archspec=1=x86_64'],
  };
  if (argv.includes('--json')) ctx.out(jsonDump(info) + '\n');
  else
    for (const [k, v] of Object.entries(info))
      ctx.out(`${k.padStart(20)} : ${[v].flat().join('\n' + ' '.repeat(23))}\n`);
  return 0;
}

/** A conda MatchSpec as libmamba prints it in its problem tree: `pyhton =3.10 *`, `numpy 9.9**`. */
function mambaSpec(spec: string): string {
  const m = /^\s*([^\s=<>!~]+)\s*(==|=|>=|<=|>|<|!=|~=)?\s*([^\s=]*)(?:=(\S+))?\s*$/.exec(spec);
  if (!m || !m[3]) return spec.trim();
  const op = m[2] ?? '';
  return op === '=' ? `${m[1]} =${m[3]} ${m[4] ?? '*'}` : `${m[1]} ${op}${m[3]}${m[4] ? ` ${m[4]}` : ''}`;
}

/** The solver's problem tree in a conda-libmamba-solver error (the lines after "Could not solve ..."). */
function problemTree(e: CondaError): string[] {
  if (e.className === 'PackagesNotFoundError') {
    const specs = (e.extra.packages as string[] | undefined) ?? [];
    return [
      `The following package${specs.length > 1 ? 's' : ''} could not be installed`,
      ...specs.map(
        (s, i) =>
          `${i === specs.length - 1 ? '└─' : '├─'} ${mambaSpec(s)} ` +
          'does not exist (perhaps a typo or a missing channel).',
      ),
    ];
  }
  const lines = e.message.split('\n');
  const at = lines.findIndex((l) => l.startsWith('Could not solve for environment specs'));
  return lines.slice(at + 1).filter((l) => l.trim());
}

const SOLVER_ERRORS = ['PackagesNotFoundError', 'LibMambaUnsatisfiableError'];

/** Print an error as the frontend does; returns the exit code. */
function report(ctx: Ctx, e: unknown, libmamba: boolean): number {
  if (e instanceof Cli11Error) {
    ctx.err(`${e.message}\nRun with --help for more information.\n`);
    return e.exitCode;
  }
  if (e instanceof CondaExit) {
    if (e.message) ctx.err(`${e.message}\n`);
    return e.exitCode;
  }
  if (e instanceof ArgparseError) {
    if (libmamba) {
      ctx.err(`${e.message}\nRun with --help for more information.\n`);
      // conda's argparse texts for the shared commands, CLI11's code per kind of error
      if (/expected (one|at least one) argument/.test(e.message)) return CLI11_EXIT.argumentMismatch;
      if (/arguments are required/.test(e.message)) return CLI11_EXIT.required;
      if (/invalid choice/.test(e.message)) return CLI11_EXIT.validation;
      return CLI11_EXIT.extras;
    }
    ctx.err(e.render().replace(/\bconda\b/g, 'mamba'));
    return e.exitCode;
  }
  if (e instanceof CondaError) {
    if (SOLVER_ERRORS.includes(e.className)) {
      const tree = problemTree(e);
      if (libmamba) {
        ctx.err(
          'error    libmamba Could not solve for environment specs\n' +
            tree.map((l) => `    ${l}\n`).join('') +
            'critical libmamba Could not solve for environment specs\n',
        );
      } else {
        // mamba 1.x: its solver's explanation, then the conda exception it raises
        ctx.err(`\nCould not solve for environment specs\n${tree.join('\n')}\n`);
      }
      return 1;
    }
    if (libmamba) {
      const [first, ...more] = e.message.trim().split('\n');
      ctx.err(`critical libmamba ${first}\n${more.map((l) => `    ${l}\n`).join('')}`);
    } else ctx.err(`\n${e.line}\n`);
    return e.exitCode;
  }
  const err = e as Error;
  ctx.err(`critical libmamba ${err?.stack ?? String(e)}\n(fake mamba bug)\n`);
  return 1;
}

async function main(argv: string[]): Promise<number> {
  const as = argv[0] as 'mamba' | 'micromamba';
  const args = argv.slice(1);
  let ctx: Ctx;
  try {
    ctx = loadContext();
  } catch (e) {
    process.stderr.write(`fake ${as}: ${(e as Error).message}\n`);
    return 1;
  }
  ctx.frontend = as;
  const version = ctx.config.mambaVersion ?? '2.0.5';
  const libmamba = libmambaCli(ctx);
  if (libmamba && cmpVersion(version, '2.6') >= 0) {
    // mamba >= 2.6 treat a Ctrl-C (user_interrupted) as no error: a warning and exit 0
    // (mamba-org/mamba micromamba/src/main.cpp:114-134 at 2.6.0; libmamba/src/core/subdir_index.cpp:644)
    process.on('SIGINT', () => {
      process.stderr.write('warning  libmamba Interrupted by user\n');
      process.exit(0);
    });
  }
  // asleep without blocking the event loop, so a signal handler (above) runs during the delay
  const delay = Number(ctx.env.FAKE_CONDA_DELAY_MS ?? 0);
  if (delay > 0) await new Promise((r) => setTimeout(r, delay));
  try {
    if (args[0] === '--version' || (args[0] === '-V' && !libmamba)) {
      ctx.out(libmamba ? `${version}\n` : `mamba ${version}\nconda ${ctx.config.version}\n`);
      return 0;
    }
    if (!args.length || args[0] === '-h' || args[0] === '--help') {
      ctx.out(`${as} ${version} (the fake ${as} of the conda-gitops test suite)\n`);
      return 0;
    }
    let { key, rest } = commandOf(args);
    if (!libmamba) {
      // mamba 1.x: conda's CLI over the installation it lives in
      const handler = HANDLERS[key];
      if (!handler) throw new CondaError('CondaError', `the fake mamba does not implement 'mamba ${key}'`);
      return await (
        await handler()
      )(ctx, rest);
    }
    const taken = takeRoot(rest);
    // micromamba's clean has no root-prefix option (it works on the configured one)
    if (key === 'clean' && taken.given.length) throw notExpected(taken.given);
    rest = taken.rest;
    ctx.root = rootPrefix(ctx, as, version, taken.root);
    if (key === 'env create' || key === 'create') return await createCmd(ctx, rest);
    if (key === 'env export') return await exportCmd(ctx, rest, version);
    if (key === 'search') return await searchCmd(ctx, rest);
    if (key === 'info') return await infoCmd(ctx, rest, as, version);
    if (key === 'env list' || key === 'list' || key === 'install' || key === 'run' || key === 'clean')
      return await (
        await HANDLERS[key]!()
      )(ctx, rest);
    if (key === 'remove' || key === 'env remove') return await (await HANDLERS[key]!())(ctx, rest);
    throw new Cli11Error(`The following argument was not expected: ${key}`);
  } catch (e) {
    return report(ctx, e, libmamba);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`fake mamba crashed: ${String(e)}\n`);
    process.exit(1);
  },
);
