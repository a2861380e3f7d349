/** `conda run -n|-p PREFIX CMD ARGS...`: exit code = the command's; output captured and replayed unless streamed. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { COMMON, flag, NAME_OR_PREFIX, parseArgs, str, TARGET, type CmdDef } from './args.js';
import { atLeast, type Ctx } from './context.js';
import { notAnEnv } from './errors.js';
import { helpOr } from './help.js';
import { isEnv } from './prefix.js';
import { targetPrefix } from './target.js';

const RUN: CmdDef = {
  prog: 'conda run',
  opts: [
    ...TARGET,
    { names: ['--no-capture-output', '--live-stream'], kind: 'flag' },
    { names: ['--cwd'], kind: 'value', metavar: 'CWD' },
    ...COMMON.filter((o) => o.names[0] !== '--json'),
  ],
  positionals: 'rest',
  posName: 'executable_call',
  exclusive: NAME_OR_PREFIX,
};

export async function run(ctx: Ctx, argv: string[]): Promise<number> {
  const p = parseArgs(RUN, argv);
  if (helpOr(ctx, RUN, p)) return 0;
  const prefix = targetPrefix(ctx, p);
  if (!isEnv(prefix)) throw notAnEnv(prefix);
  const stream = flag(p, 'no_capture_output');
  const env: NodeJS.ProcessEnv = {
    ...ctx.env,
    PATH: `${join(prefix, 'bin')}:${ctx.env.PATH ?? '/usr/bin:/bin'}`,
    CONDA_PREFIX: prefix,
    CONDA_DEFAULT_ENV: str(p, 'name') ?? prefix,
    CONDA_SHLVL: '1',
  };
  delete env.FAKE_CONDA_ROOT;
  const [cmd, ...args] = p.pos;
  const code = await new Promise<number>((res) => {
    const child = spawn(cmd, args, {
      cwd: str(p, 'cwd') ?? ctx.cwd,
      env,
      stdio: stream ? 'inherit' : ['inherit', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', () => {
      // conda runs the command through a shell script, so a missing command reads like the shell says it
      err.push(Buffer.from(`/tmp/tmp_fake_conda_run: line 3: exec: ${cmd}: not found\n`));
    });
    child.on('close', (c) => {
      ctx.out(Buffer.concat(out).toString());
      ctx.err(Buffer.concat(err).toString());
      res(c ?? 127);
    });
  });
  if (code !== 0) {
    ctx.err(
      atLeast(ctx, '4.12')
        ? `ERROR conda.cli.main_run:execute(49): \`conda run ${p.pos.join(' ')}\` failed. (See above for error)\n`
        : 'ERROR conda.cli.main_run:execute(33): ' +
            `Subprocess for 'conda run ${JSON.stringify(p.pos)}' command failed.  (See above for error)\n`,
    );
  }
  return code;
}
