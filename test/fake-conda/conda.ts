/**
 * Entry point of the fake `conda` (run by ROOT/bin/conda, which sets FAKE_CONDA_ROOT).
 * Start-up is kept small: commands are imported on demand, rattler only by the ones that solve.
 */
import { atLeast, CRASH_STEPS, injectDelay, loadContext, type Ctx } from './context.js';
import { ArgparseError, CondaError, CondaExit, jsonDump, MAIN_USAGE } from './errors.js';

type Handler = (ctx: Ctx, argv: string[]) => Promise<number>;

/** command -> loader; `since` hides a command from older conda versions */
const COMMANDS: Record<string, { load: () => Promise<Handler>; since?: string }> = {
  info: { load: async () => (await import('./cmd-info.js')).info },
  list: { load: async () => (await import('./cmd-list.js')).list },
  create: { load: async () => (await import('./cmd-create.js')).create },
  install: { load: async () => (await import('./cmd-install.js')).install },
  remove: { load: async () => (await import('./cmd-remove.js')).remove },
  uninstall: { load: async () => (await import('./cmd-remove.js')).remove },
  run: { load: async () => (await import('./cmd-run.js')).run, since: '4.6' },
  clean: { load: async () => (await import('./cmd-clean.js')).clean },
  search: { load: async () => (await import('./cmd-search.js')).search },
  'env list': { load: async () => (await import('./cmd-info.js')).envList },
  'env create': { load: async () => (await import('./cmd-create.js')).envCreate },
  'env export': { load: async () => (await import('./cmd-export.js')).exportEnv },
  'env remove': { load: async () => (await import('./cmd-remove.js')).envRemove },
};

/** Real conda commands the fake does not implement: an honest error rather than "no such command". */
const UNIMPLEMENTED = [
  'config',
  'update',
  'upgrade',
  'compare',
  'package',
  'init',
  'activate',
  'deactivate',
  'doctor',
  'notices',
  'rename',
];
const ENV_SUBCOMMANDS = ['config', 'create', 'export', 'list', 'remove', 'update'];

const MAIN_HELP = `${MAIN_USAGE}

conda is a tool for managing and deploying applications, environments and packages.
(This is the fake conda of the conda-gitops test suite.)

commands:
  clean, create, env, info, install, list, remove, run, search
`;

function resolveCommand(ctx: Ctx, argv: string[]): { key: string; rest: string[] } {
  const [first, ...rest] = argv;
  if (first === 'env') {
    const sub = rest[0];
    if (!sub || sub === '-h' || sub === '--help')
      throw new ArgparseError(
        'usage: conda-env [-h] {config,create,export,list,remove,update} ...',
        'conda-env',
        'the following arguments are required: command',
      );
    if (!ENV_SUBCOMMANDS.includes(sub)) {
      throw new ArgparseError(
        'usage: conda-env [-h] {config,create,export,list,remove,update} ...',
        'conda-env',
        `argument command: invalid choice: '${sub}' (choose from ${ENV_SUBCOMMANDS.map((s) => `'${s}'`).join(', ')})`,
      );
    }
    return { key: `env ${sub}`, rest: rest.slice(1) };
  }
  const cmd = COMMANDS[first];
  if (!cmd || (cmd.since && !atLeast(ctx, cmd.since))) {
    if (UNIMPLEMENTED.includes(first)) return { key: first, rest };
    // conda's ArgumentParser.error turned argparse's "invalid choice" into CommandNotFoundError (exit 1) up to
    // 22.11.x (real conda 22.11.1, probe commands); 23.x dropped that override (executable subcommands deprecated
    // in 23.3): an argparse error, exit 2 (real conda 23.11.0, probe commands). 23.3 is from source reading.
    if (atLeast(ctx, '23.3')) {
      throw new ArgparseError(
        MAIN_USAGE,
        'conda',
        `argument COMMAND: invalid choice: '${first}' (choose from ${Object.keys(COMMANDS)
          .filter((k) => !k.includes(' '))
          .map((k) => `'${k}'`)
          .join(', ')}, 'env')`,
      );
    }
    throw new CondaError('CommandNotFoundError', `No command 'conda ${first}'.`);
  }
  return { key: first, rest };
}

async function main(argv: string[]): Promise<number> {
  let ctx: Ctx;
  try {
    ctx = loadContext();
  } catch (e) {
    process.stderr.write(`fake conda: ${(e as Error).message}\n`);
    return 1;
  }
  injectDelay(ctx.env);
  const crashAt = ctx.env.FAKE_CONDA_CRASH_AT;
  if (crashAt && !(CRASH_STEPS as readonly string[]).includes(crashAt)) {
    // a typo would silently never crash: say so instead
    process.stderr.write(
      `fake conda: unknown FAKE_CONDA_CRASH_AT step '${crashAt}' (known: ${CRASH_STEPS.join(', ')})\n`,
    );
    return 1;
  }
  const json = argv.includes('--json');
  try {
    if (argv[0] === '--version' || argv[0] === '-V') {
      ctx.out(`conda ${ctx.config.version}\n`);
      return 0;
    }
    if (!argv.length || argv[0] === '-h' || argv[0] === '--help') {
      ctx.out(MAIN_HELP);
      return 0;
    }
    const { key, rest } = resolveCommand(ctx, argv);
    const cmd = COMMANDS[key];
    if (!cmd) throw new CondaError('CondaError', `the fake conda does not implement 'conda ${key}'`);
    return await (
      await cmd.load()
    )(ctx, rest);
  } catch (e) {
    return report(ctx, e, json);
  }
}

/** Print an error the way conda does: human text on stderr, or a JSON object on stdout with --json. */
function report(ctx: Ctx, e: unknown, json: boolean): number {
  if (e instanceof ArgparseError) {
    ctx.err(e.render());
    return e.exitCode;
  }
  if (e instanceof CondaExit) {
    if (json) ctx.out(jsonDump({ dry_run: true, message: e.message, success: true }) + '\n');
    else ctx.out(`\nDryRunExit: ${e.message}\n`);
    return e.exitCode;
  }
  if (e instanceof CondaError) {
    if (json) ctx.out(jsonDump(e.toJson()) + '\n');
    else ctx.err(`\n${e.line}\n`);
    return e.exitCode;
  }
  // anything else is a bug in the fake: say so, like conda's "An unexpected error has occurred"
  const err = e as Error;
  ctx.err(
    `\n# >>>>>>>>>>>>>>>>>>>>>> ERROR REPORT <<<<<<<<<<<<<<<<<<<<<<\n\n    ${err?.stack ?? String(e)}\n\n` +
      'An unexpected error has occurred. (fake conda bug)\n',
  );
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`fake conda crashed: ${String(e)}\n`);
    process.exit(1);
  },
);
