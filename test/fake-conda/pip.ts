/** The pip step of `conda env create`: real pip (the host's, through the env's shim) on a requirements file. */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { atLeast, type Ctx } from './context.js';
import { CondaError } from './errors.js';
import { pyList } from './prefix.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((res) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    child.on('error', (e) => res({ code: 127, stdout, stderr: stderr + String(e) }));
    child.on('close', (code) => res({ code: code ?? 1, stdout, stderr }));
  });
}

/**
 * Install `deps` (lines of the env file's pip: list) into `prefix`. Like conda, the requirements file
 * sits next to the env file so relative paths in it resolve there, and pip runs with that cwd.
 */
export async function pipStep(
  ctx: Ctx,
  prefix: string,
  envFile: string,
  deps: string[],
  quiet: boolean,
): Promise<void> {
  const python = join(prefix, 'bin', 'python');
  const workdir = dirname(envFile);
  const env = { ...ctx.env };
  delete env.FAKE_CONDA_ROOT;
  const say = (t: string) => {
    if (!quiet) ctx.out(t);
  };

  if (!atLeast(ctx, '4.4')) {
    // conda 4.3 passed the specs on pip's command line and only said "pip returned an error"
    const r = await run(python, ['-m', 'pip', 'install', ...deps], workdir, env);
    say(r.stdout);
    if (r.stderr) ctx.err(r.stderr);
    if (r.code !== 0) throw new CondaError('CondaValueError', 'pip returned an error.');
    return;
  }

  const reqFile = join(workdir, `condaenv.${randomBytes(4).toString('hex')}.requirements.txt`);
  writeFileSync(reqFile, deps.join('\n') + '\n');
  try {
    const argv = [
      python,
      '-m',
      'pip',
      'install',
      '-U',
      '-r',
      reqFile,
      ...(atLeast(ctx, '22.11') ? ['--exists-action=b'] : []),
    ];
    const r = await run(argv[0], argv.slice(1), workdir, env);
    if (!atLeast(ctx, '4.6')) {
      say(r.stdout);
      if (r.stderr) ctx.err(r.stderr);
      if (r.code !== 0) throw new CondaError('CondaValueError', 'pip returned an error.');
      return;
    }
    if (atLeast(ctx, '4.6.9') && !atLeast(ctx, '4.6.13')) {
      // conda 4.6.9-4.6.12 print pip's error and go on: exit 0 with the pip section not installed (conda#8537)
      say(`Ran pip subprocess with arguments:\n${pyList(argv)}\nPip subprocess output:\n${r.stdout}\n`);
      if (r.code !== 0) say(`Pip subprocess error:\n${r.stderr}\n`);
      return;
    }
    if (!atLeast(ctx, '4.6.14')) {
      if (r.code !== 0)
        throw new CondaError('CondaEnvException', `Pip subcommand failed with \noutput: ${r.stdout}${r.stderr}`);
      say(r.stdout);
      return;
    }
    say(`Ran pip subprocess with arguments:\n${pyList(argv)}\nPip subprocess output:\n${r.stdout}\n`);
    if (r.code !== 0) {
      ctx.err(`Pip subprocess error:\n${r.stderr}\n`);
      say('failed\n');
      throw new CondaError('CondaEnvException', 'Pip failed');
    }
  } finally {
    rmSync(reqFile, { force: true });
  }
}
