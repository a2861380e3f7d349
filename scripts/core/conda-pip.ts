/**
 * How each conda version runs an environment file's `pip:` section (pure). Checked on real conda
 * (test/real-conda/table-probes.test.ts: probes "pip without pip", "pip lines as arguments", "product pip section").
 */
import { compareCondaVersions } from './conda-version.js';

/**
 * Does `conda env create` add `pip` itself when a `pip:` section has no `pip` dependency? From 4.6.9
 * (`conda_env/env.py` `from_dict`, "I'm adding one for you"). Before, with no pip in the env (a site with
 * `add_pip_as_python_dependency: false`, or no python), 4.3.x–4.4.8 crash (`TypeError`, `pip_args` is None) and
 * 4.4.9–4.6.8 skip the pip step and exit 0: the build writes `pip` into the file for those.
 */
export function condaAddsPip(condaVersion: string): boolean {
  return compareCondaVersions(condaVersion, '4.6.9') >= 0;
}

/**
 * conda 4.3 runs `pip install LINE LINE …` (each line one argument, `conda_env/installers/pip.py` at 4.3.x); 4.4+
 * write a requirements file. As an argument `-r /abs` is the option `-r` with the value ` /abs` (a leading space):
 * pip cannot open it.
 */
export function pipLinesAreArguments(condaVersion: string): boolean {
  return compareCondaVersions(condaVersion, '4.4') < 0;
}

/** A pip line `-r X` / `--requirement X` as one argument pip parses the same: `-rX` / `--requirement=X`. */
export function asOneArgument(line: string): string {
  const long = /^(--[A-Za-z][\w-]*)\s+(\S.*)$/.exec(line);
  if (long) return `${long[1]}=${long[2]}`;
  const short = /^(-[A-Za-z])\s+(\S.*)$/.exec(line);
  if (short) return `${short[1]}${short[2]}`;
  return line;
}
