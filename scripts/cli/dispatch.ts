/** Parses argv, dispatches to a command, ends it through cli/exit.ts (the one owner of exit codes). */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { COMMANDS, GLOBAL_OPTIONS } from './registry.js';
import type { CommandMeta, OptionDef } from './command.js';
import { GitopsError, InputError, RefusedError, UsageError, environmentError, type Problem } from '../core/errors.js';
import { OK } from '../core/outcome.js';
import { exitCodeOf, exitCodeOfError, exitCodesHelp, finish } from './exit.js';
import { processOutput } from './output.js';
import type { Output } from '../app/output.js';
import { secretEntries } from '../core/childenv.js';
import { MIN_SECRET_LENGTH, registerSecrets } from '../core/redact.js';
import { abortAllCalls, interruptedBy, killAllCalls, settleInterruptedCalls } from '../engine/process.js';
import { removeAllTempDirs } from '../engine/tempdir.js';
import { didYouMean } from '../core/suggest.js';

function optionHelp(options: Record<string, OptionDef>): string {
  return Object.entries(options)
    .map(([name, o]) => {
      const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.arg ? ` ${o.arg}` : ''}`;
      return `  ${flag.padEnd(28)} ${o.description}`;
    })
    .join('\n');
}

/** --help lists commands in the order of the loop: change, review, ship, operate, take over. */
const HELP_ORDER = [
  'validate',
  'plan',
  'qa',
  'build',
  'test',
  'fix',
  'deploy',
  'rollback',
  'status',
  'history',
  'kernels',
  'gc',
  'adopt',
  'export',
  'classify',
  'schema',
];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const rank = (name: string) => HELP_ORDER.indexOf(name) + 1 || HELP_ORDER.length + 1;
  const ordered = [...COMMANDS].sort((a, b) => rank(a.name) - rank(b.name));
  return [
    'conda-gitops: run a shared conda installation the GitOps way',
    '',
    'Usage: conda-gitops <command> [options]',
    '',
    'Commands:',
    ...ordered.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Global options:',
    optionHelp(GLOBAL_OPTIONS),
    '',
    exitCodesHelp(),
    '',
    'Progress goes to stderr. On a terminal a long step shows a live line with its elapsed time and statuses are',
    'coloured (NO_COLOR=1 turns colour off, FORCE_COLOR=1 forces it; never with --json); elsewhere (CI, a log) a',
    'long step prints a start line, then a line every 30 s (CONDA_GITOPS_HEARTBEAT_SECONDS). See docs/qa.md.',
    '',
    "Run 'conda-gitops <command> --help' for a command's options.",
  ].join('\n');
}

function commandHelp(c: CommandMeta): string {
  return [
    `Usage: ${c.usage}`,
    '',
    c.summary,
    ...(c.details ? ['', c.details] : []),
    ...(Object.keys(c.options).length ? ['', 'Options:', optionHelp(c.options)] : []),
    '',
    'Global options:',
    optionHelp(GLOBAL_OPTIONS),
  ].join('\n');
}

/**
 * Secrets of our own environment: their values are registered with the redactor (and the runner's masking),
 * then the variables are removed from process.env, so nothing this process starts can inherit them.
 */
async function protectSecrets(): Promise<void> {
  const secrets = secretEntries(process.env);
  const values = secrets.map(([, v]) => v).filter((v) => v.length >= MIN_SECRET_LENGTH);
  registerSecrets(values);
  if (values.length && process.env.GITHUB_ACTIONS === 'true') {
    const { maskSecrets } = await import('../engine/github.js'); // @actions/core: loaded only on a runner
    await maskSecrets(values);
  }
  for (const [name] of secrets) delete process.env[name];
}

/**
 * SIGINT/SIGTERM (a cancelled workflow run): stop every child with its descendants; the use case unwinds
 * (interrupted builds recorded `aborted`, temporary directories removed) and the CLI exits 130/143.
 * A second signal, or a run that does not unwind within INTERRUPT_GRACE_MS, exits at once.
 */
const INTERRUPT_GRACE_MS = 20_000;
function handleSignals(): void {
  const exitNow = (signal: string) => {
    killAllCalls();
    removeAllTempDirs();
    process.exit(exitCodeOf('interrupted', signal));
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (interruptedBy()) return exitNow(signal);
      process.stderr.write(`conda-gitops: ${signal} received: stopping builds and tests\n`);
      abortAllCalls(signal);
      setTimeout(() => exitNow(signal), INTERRUPT_GRACE_MS).unref();
    });
  }
}

/** The process entry: argv to an exit code, output on the process streams. */
export async function main(argv: string[]): Promise<number> {
  await protectSecrets();
  handleSignals();
  try {
    const code = await entry(argv);
    const signal = interruptedBy();
    if (!signal) return code;
    await settleInterruptedCalls();
    return exitCodeOf('interrupted', signal);
  } finally {
    removeAllTempDirs();
  }
}

async function entry(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    process.stdout.write((topic ? commandHelp(topic) : mainHelp()) + '\n');
    return exitCodeOf(name ? 'ok' : 'bad-input');
  }
  if (name === '--version') {
    // loaded only here: --help and every command start without it
    const { version } = await import('./version.js');
    process.stdout.write(`conda-gitops ${version()}\n`);
    return exitCodeOf('ok');
  }
  return execute(argv, { out: processOutput(rest.includes('--json')), cwd: process.cwd(), env: process.env });
}

/**
 * Run one command line in this process: parse, load the command, map errors to exit codes. Tests and the
 * benchmarks call this (through the CLI, as a user would) instead of importing a command module.
 */
export async function execute(
  argv: string[],
  io: { out: Output; cwd: string; env: NodeJS.ProcessEnv },
): Promise<number> {
  const [name = '', ...rest] = argv;
  const { out } = io;
  const command = COMMANDS.find((c) => c.name === name);
  let repo = resolve(io.cwd);
  // in GitHub Actions: annotations (stdout, or stderr when stdout is --json) and the job summary
  const annotate = async (problems: readonly Problem[]) => {
    if (io.env.GITHUB_ACTIONS !== 'true') return;
    const { publishProblems } = await import('../engine/github.js');
    await publishProblems(problems, {
      command: name,
      repoDir: repo,
      env: io.env,
      write: (l) => (out.command ?? out.info)(l),
    });
  };
  try {
    if (!command) {
      const near = didYouMean(
        name,
        COMMANDS.map((c) => c.name),
      );
      throw new UsageError(`unknown command '${name}'${near} (see conda-gitops --help)`);
    }
    const options = { ...GLOBAL_OPTIONS, ...command.options };
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
    } catch (e) {
      const message = (e as Error).message.replace(/\. To specify a positional.*$/s, '');
      const unknown = /^Unknown option '--([^'=]+)'/.exec(message)?.[1];
      const near = unknown ? didYouMean(unknown, Object.keys(options)).replace(/'(.*)'/, "'--$1'") : '';
      throw new UsageError(`${message}${near} (see conda-gitops ${name} --help)`);
    }
    if (parsed.values.help) {
      out.info(commandHelp(command));
      return finish(OK, out);
    }
    const pos = command.positionals ?? { min: 0, max: 0, names: '' };
    if (parsed.positionals.length < pos.min || parsed.positionals.length > pos.max) {
      throw new UsageError(
        pos.max === 0
          ? `'${name}' takes no arguments, got '${parsed.positionals.join(' ')}' (see conda-gitops ${name} --help)`
          : `'${name}' expects ${pos.names} (see conda-gitops ${name} --help)`,
      );
    }
    const { run } = await command.load();
    repo = resolve(io.cwd, typeof parsed.values.repo === 'string' ? parsed.values.repo : '.');
    const outcome = await run({
      options: parsed.values,
      positionals: parsed.positionals,
      out,
      repo,
      env: io.env,
      annotate,
    });
    return finish(outcome, out);
  } catch (caught) {
    // one place maps the machine's errors (disk full, read-only, permission) to a clear message and exit 4
    const e = environmentError(caught) ?? caught;
    if (e instanceof GitopsError) {
      if (e instanceof InputError || e instanceof RefusedError) await annotate(e.problems).catch(() => undefined);
      const exitCode = exitCodeOfError(e);
      if (out.json) out.result({ ok: false, error: e.name, message: e.message, exitCode });
      out.warn(`conda-gitops: ${e.message}`);
      return exitCode;
    }
    out.warn(`conda-gitops: internal error (this is a bug, please report it):\n${(e as Error).stack ?? String(e)}`);
    return exitCodeOfError(e);
  }
}
