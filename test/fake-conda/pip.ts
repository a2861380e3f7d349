/** The pip step of `conda env create`: real pip (the host's, through the env's shim) on a requirements file. */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { atLeast, libmambaCli, type Ctx } from './context.js';
import { CondaError } from './errors.js';
import { PythonCrash } from './crash.js';
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

  // before 4.6.9 nothing added pip to the env (cmd-create.ts): conda's pip_args() is None without bin/pip
  if (!existsSync(join(prefix, 'bin', 'pip')) && !libmambaCli(ctx) && !atLeast(ctx, '4.6.9')) {
    // 4.3.x-4.4.8: `pip_args(prefix) + ['install', ] + specs` (conda_env/installers/pip.py); real conda 4.3.22,
    // probe pip without pip (test/real-conda/table-probes.test.ts)
    if (!atLeast(ctx, '4.4.9'))
      throw new PythonCrash(
        'TypeError',
        "unsupported operand type(s) for +: 'NoneType' and 'list'",
        `File "${ctx.root}/lib/python3.6/site-packages/conda_env/installers/pip.py", line 8, in install`,
      );
    // 4.4.9-4.6.8: the pip installer returns when the env has no pip, and env create exits 0
    return;
  }

  if (!atLeast(ctx, '4.4')) {
    // conda 4.3 passed the specs on pip's command line and only said "pip returned an error"
    const r = await run(python, ['-m', 'pip', 'install', ...deps], workdir, env);
    say(r.stdout);
    if (r.stderr) ctx.err(r.stderr);
    if (r.code !== 0) throw new CondaError('CondaValueError', 'pip returned an error.');
    return;
  }

  if (libmambaCli(ctx)) {
    // micromamba / mamba 2 (install_for_other_pkgmgr: libmamba/src/api/utils.cpp:127 at 2.0.5, later
    // libmamba/src/api/pip_utils.cpp): the requirements go to a temporary file `mambaf*` beside the env file,
    // pip runs `-r FILE --no-input --quiet` (no -U on create, utils.cpp:37-43) in the env file's directory, its
    // output passes through, and a failure ends with "pip failed to install packages"
    const tmp = join(workdir, `mambaf${randomBytes(4).toString('hex')}`);
    writeFileSync(tmp, deps.join('\n') + '\n');
    try {
      const r = await run(python, ['-m', 'pip', 'install', '-r', tmp, '--no-input', '--quiet'], workdir, env);
      if (r.stdout) say(r.stdout);
      if (r.stderr) ctx.err(r.stderr);
      if (r.code !== 0) throw new CondaError('libmamba', 'pip failed to install packages');
      return;
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  const reqFile = join(workdir, `condaenv.${randomBytes(4).toString('hex')}.requirements.txt`);
  writeFileSync(reqFile, deps.join('\n') + '\n');
  try {
    const argv = [
      python,
      '-m',
      'pip',
      'install',
      // -U from 4.6.13 (conda_env/installers/pip.py at 4.6.10 vs 4.6.14; real conda 4.6.10, probe pip without pip)
      ...(atLeast(ctx, '4.6.13') ? ['-U'] : []),
      '-r',
      reqFile,
      ...(atLeast(ctx, '22.11') ? ['--exists-action=b'] : []),
    ];
    const r = await run(argv[0], argv.slice(1), workdir, env);
    // the wording of a pip failure by version (conda_env/pip_util.py, conda_env/installers/pip.py at each tag)
    if (!atLeast(ctx, '4.6.7')) {
      say(r.stdout);
      if (r.stderr) ctx.err(r.stderr);
      if (r.code !== 0) throw new CondaError('CondaValueError', 'pip returned an error');
      return;
    }
    if (!atLeast(ctx, '4.6.9')) {
      if (r.code !== 0)
        throw new CondaError(
          'CondaEnvException',
          `Pip subcommand failed with \noutput: ${r.stdout}\nerror: ${r.stderr}`,
        );
      say(r.stdout);
      return;
    }
    say(`Ran pip subprocess with arguments:\n${pyList(argv)}\nPip subprocess output:\n${r.stdout}\n`);
    if (r.code !== 0) {
      // 4.6.9 - 4.7.11 print the error on stdout; 4.7.12 moved it to stderr (conda_env/pip_util.py
      // pip_subprocess; real conda 4.7.12, probe pip error stream)
      const text = `Pip subprocess error:\n${r.stderr}\n`;
      if (atLeast(ctx, '4.7.12')) ctx.err(text);
      else say(text);
      // 4.6.9 - 4.6.12 printed it and went on: exit 0 (conda/conda#8537)
      if (!atLeast(ctx, '4.6.13')) return;
      say('failed\n');
      throw new CondaError('CondaEnvException', 'Pip failed');
    }
  } finally {
    rmSync(reqFile, { force: true });
  }
}
