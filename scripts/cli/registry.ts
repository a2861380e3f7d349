/**
 * Every command's metadata. Command code is loaded lazily (see CommandMeta.load),
 * so `conda-gitops --help` never pays for rattler, ajv or zx.
 */
import type { CommandMeta, OptionDef } from './command.js';

/** Options every command accepts. */
export const GLOBAL_OPTIONS: Record<string, OptionDef> = {
  root: {
    type: 'string',
    arg: 'DIR',
    description: 'installation root (default: $CONDA_GITOPS_ROOT, then [conda] root)',
  },
  repo: {
    type: 'string',
    arg: 'DIR',
    description: 'repository with inventory.ini and env-specs/ (default: current directory)',
  },
  json: { type: 'boolean', description: 'machine-readable result on stdout; human text goes to stderr' },
  help: { type: 'boolean', short: 'h', description: 'show help for the command' },
};

const jobs: OptionDef = { type: 'string', arg: 'N', description: 'build N environments in parallel (default 1)' };
const testJobs: OptionDef = { type: 'string', arg: 'N', description: 'test N environments in parallel (default 1)' };
/** Commands that take the ROOT lock: deploy, rollback, kernels, gc --yes. */
const wait: OptionDef = {
  type: 'string',
  arg: 'SECONDS',
  description: 'wait up to SECONDS (or 5m, 1h) for the lock (default 0: exit 3 at once)',
};
const timeout = (what: string): OptionDef => ({ type: 'string', arg: 'SECONDS', description: `limit of ${what}` });
const retryFailed: OptionDef = { type: 'boolean', description: 'rebuild envs whose build failed with the same inputs' };
const envFilter: OptionDef = {
  type: 'string',
  arg: 'NAME',
  multiple: true,
  description: 'only this environment (repeatable; or NAME,NAME)',
};

export const COMMANDS: CommandMeta[] = [
  {
    name: 'validate',
    summary: 'check inventory.ini and every env spec; exit 2 with file:line errors',
    usage: 'conda-gitops validate [--repo DIR] [--runner [--root DIR]] [--json]',
    details:
      'Parses inventory.ini and env-specs/*.yml and reports every problem at once.\n' +
      "--runner also inspects this user's environment as a build on this runner would see it: rc files that\n" +
      'would leak into builds (every conda reads /etc/conda/... and /var/lib/conda/... whatever CONDARC says;\n' +
      'the bubblewrap sandbox hides them; ~/.condarc and ~/.config/conda/... never reach a build, which has a\n' +
      'home of its own), each named with what to do (docs/security.md, "Hermetic builds").\n' +
      'Exit 0 when valid, 2 when any error was found. Warnings do not change the exit code.',
    options: {
      runner: {
        type: 'boolean',
        description: "also check this runner user's environment (rc files that would leak into builds)",
      },
    },
    load: () => import('../commands/validate.js'),
  },
  {
    name: 'plan',
    summary: 'what to build, link and unlink: the repo against an installation or two commits',
    usage: 'conda-gitops plan [--root DIR] [--base REF --head REF] [--matrix N] [--json]',
    details:
      'Without --base/--head: the desired state of the repository against the live\n' +
      'installation under --root (an empty root means everything is to build).\n' +
      'With --base and --head: the envs whose spec or inventory line changed between two commits; pass the merge\n' +
      'base as --base (git merge-base origin/main HEAD). A head whose [conda] version is older than the base\n' +
      "commit's or the live installation's (ROOT/current) is refused, exit 1: rebase on main.\n" +
      'The --json result has `matrix` for a GitHub strategy.matrix. With --matrix N: the envs to build in at\n' +
      'most N slices ({slice: "i/N", envs: "a b"}), one build job per slice on a pool of runners sharing ROOT\n' +
      '(`build --env a --env b`, then one `qa` reports the run; docs/runners.md); inside GitHub Actions also\n' +
      'the step outputs `matrix` (for fromJSON) and `builds` (how many envs to build).',
    options: {
      base: { type: 'string', arg: 'REF', description: 'git ref of the PR base: the merge base with main' },
      head: { type: 'string', arg: 'REF', description: 'git ref of the PR head (default HEAD)' },
      matrix: { type: 'string', arg: 'N', description: 'split the envs to build into at most N slices (build jobs)' },
    },
    load: () => import('../commands/plan.js'),
  },
  {
    name: 'schema',
    summary: 'print the JSON Schemas of inventory.ini, report.json and the state under ROOT',
    usage: 'conda-gitops schema [NAME]',
    details:
      'NAME: inventory, report, or a state file under ROOT: build-record, build-mark, generation, history,\n' +
      'marks (a line of vX/marks.jsonl), installation-marks, verdict, build-manifest, installing (the\n' +
      'install-conda marker), lock-holder, kernelspec. Every read of state checks it against its schema (a file\n' +
      'that does not match is named with what to do, exit 1).',
    options: {},
    positionals: { min: 0, max: 1, names: '[NAME]' },
    load: () => import('../commands/schema.js'),
  },
  // -- commands added by later modules go below; keep one entry per command --
  {
    name: 'deploy',
    summary: 'merge entry: link the tested builds of the repo at HEAD as a new generation, swap it in atomically',
    usage:
      'conda-gitops deploy [--root DIR] [--repo DIR] [--dry-run] [--build-missing [--jobs N]] [--force] ' +
      '[--allow-downgrade] [--repair NAME]... [--repair-all-drifted] [--wait SECONDS] [--json]',
    details:
      'Takes ROOT/.gitops/lock, requires a `tested` build with exactly the build id of every REPLICATE env,\n' +
      'writes vX/generations/N+1 completely, swaps vX/envs with one rename(2), rewrites kernels, appends history.\n' +
      'Running it again changes nothing. Missing builds: exit 1 listing them (or --build-missing builds and tests\n' +
      'them first, outside the lock; when [conda] version has no installation yet it runs install-conda first,\n' +
      'holding the lock only while installing). A build marked bad by a rollback is held back (exit 1) unless\n' +
      '--force.\n' +
      'A conda upgrade ([conda] version changed) switches ROOT/current and ROOT/qa to the new installation with\n' +
      'one rename(2); envs listed in [conda] allow-failures without a passing build are left out (still served\n' +
      'from the previous installation, ROOT/vOLD/envs/NAME). It refuses (exit 1) to switch to an installation\n' +
      'a rollback switched away from while the repository asks for the same builds there, unless --force.\n' +
      'Only forward: refuses (exit 1) when HEAD does not descend from the commit of the live generation (an old\n' +
      'commit checked out, an old CI run re-run); go back with a revert commit, or --allow-downgrade.\n' +
      '--repair NAME: a live env changed by hand (`conda install` into it; `status` names it) is rebuilt from git\n' +
      'into a fresh build <id>.rN beside the tainted one, tested and swapped in; the tainted one is kept until gc.\n' +
      'Refuses (exit 1) an installation whose envs/ is a real directory of unmanaged envs: see `adopt`.\n' +
      '--dry-run decides as the real run does: same exit code, same refusal, same plan lines, nothing written\n' +
      '(with --build-missing: the plan once the missing envs are built and pass). Refusals go to stderr.\n' +
      'Exit 0 deployed or nothing to do, 1 missing/held-back builds, failed repair or refused, 2 bad input,\n' +
      '3 lock busy.',
    options: {
      'dry-run': {
        type: 'boolean',
        description: 'print the plan (and the repairs) and exit as the real run would; change nothing',
      },
      'build-missing': {
        type: 'boolean',
        description: 'build and test envs without a tested build (installing conda first if needed), then deploy',
      },
      jobs: { ...jobs, description: `with --build-missing or --repair: ${jobs.description}` },
      force: {
        type: 'boolean',
        description: 'deploy builds (or switch to an installation) a rollback marked bad (clears the mark)',
      },
      'allow-downgrade': {
        type: 'boolean',
        description: 'deploy even when HEAD does not descend from the live commit (prefer a revert commit)',
      },
      repair: {
        type: 'string',
        arg: 'NAME',
        multiple: true,
        description: 'rebuild this hand-changed live env from git and swap it in (repeatable; or NAME,NAME)',
      },
      'repair-all-drifted': { type: 'boolean', description: '--repair every live env that was changed by hand' },
      wait,
    },
    load: () => import('../commands/deploy.js'),
  },
  {
    name: 'rollback',
    summary: 'swap back to the previous generation (or --to N), one env only (--env NAME), or an installation',
    usage:
      'conda-gitops rollback [--root DIR] [--to N] [--env NAME] [--installation [vX]] [--dry-run] [--wait SECONDS] ' +
      '[--json]',
    details:
      'Default: the generation the live one was made from (never one that was itself rolled back; after a\n' +
      'conda upgrade, the previous installation). --to N: any generation of the live installation.\n' +
      '--env NAME: a new generation where only NAME goes back to its previous distinct build (the newest earlier\n' +
      'generation where NAME had another build, not one rolled back already); --to N --env NAME: NAME as in N.\n' +
      'Rolling back to what is already live (--to the live N, NAME already on that build) does nothing (exit 0).\n' +
      '--installation [vX]: switch ROOT/current back to installation vX (default: the one current came from, before\n' +
      'a conda upgrade; also the adopted, hand-run installation the first upgrade left) and mark the installation\n' +
      'left rolled back: a plain deploy refuses to switch to it again\n' +
      'until the repository changes its builds (or deploy --force). A plain rollback across a conda upgrade does\n' +
      'the same. ROOT/qa is left as it is (for inspection).\n' +
      '--dry-run makes every check of the real run (same messages, same exit codes) and writes nothing.\n' +
      'Builds that leave the live set are marked bad: the next deploy from main keeps them out until the\n' +
      'change is reverted or fixed in git (or deploy --force). Recorded in history. Needs no repository.\n' +
      'On the adopted installation (no generations) it names the way forward (a [conda] version pull request).\n' +
      'Exit 0 rolled back or nothing to do, 1 nothing deployed or no earlier build, 2 bad input (an unknown\n' +
      'installation too), 3 lock busy.',
    options: {
      to: { type: 'string', arg: 'N', description: 'generation number to make live' },
      env: { type: 'string', arg: 'NAME', description: 'roll back only this environment' },
      installation: {
        type: 'boolean',
        description: 'switch ROOT/current back to installation vX (the argument; default: the previous one)',
      },
      'dry-run': { type: 'boolean', description: 'print what would change' },
      wait,
    },
    positionals: { min: 0, max: 1, names: '[vX]' },
    load: () => import('../commands/rollback.js'),
  },
  {
    name: 'history',
    summary: 'the log of cutovers: when, who, commit, generation from -> to, envs added/changed/removed',
    usage: 'conda-gitops history [--root DIR] [--limit N] [--json]',
    options: {
      limit: { type: 'string', arg: 'N', description: 'only the last N entries' },
    },
    load: () => import('../commands/history.js'),
  },
  {
    name: 'status',
    summary: 'live generation vs the repo: missing/extra/different/failed builds, hand changes; exit 1 on drift',
    usage: 'conda-gitops status [--root DIR] [--repo DIR] [--verify] [--json]',
    details:
      'Per env: missing (not live), extra (live, not in the repo), different build, the desired build failed or\n' +
      'was rolled back, or changed by hand (its conda-meta/history changed after the build record).\n' +
      'Each live build is checked against the files recorded when it was tested (or conda-meta paths_data):\n' +
      'a changed, added or removed file is drift, named by env and path. Fast: size and mtime; --verify: sha256.\n' +
      'Also kernelspecs missing, outdated or extra; and, as warnings, rc files of this user that builds read\n' +
      '(conda < 24.9: ~/.condarc, /etc/conda/... even with CONDARC set). Every env out of line is named, and\n' +
      'each kind of drift gets a `To repair:` line that works there. Exit 0 in sync, 1 drift.',
    options: {
      verify: {
        type: 'boolean',
        description: 'hash every file of every live build (catches a change that kept size and mtime)',
      },
    },
    load: () => import('../commands/status.js'),
  },
  {
    name: 'kernels',
    summary: 'write ROOT/kernels/NAME/kernel.json for every [kernels] entry; remove stale ones',
    usage: 'conda-gitops kernels [--root DIR] [--repo DIR] [--dry-run] [--wait SECONDS] [--json]',
    details:
      'deploy does this too. JupyterHub finds them with JUPYTER_PATH=ROOT. Every kernel starts through\n' +
      'ROOT/kernels/.conda-gitops-launch, which activates the env as `conda activate` would (CONDA_PREFIX,\n' +
      "CONDA_DEFAULT_ENV, PATH led by the env's bin, its variables:, every etc/conda/activate.d/*.sh) and then\n" +
      "runs the kernel through ROOT/envs/NAME (a cutover never rewrites kernels). `NAME = Name` is the env's\n" +
      'python with ipykernel; `NAME:SPEC = Name` publishes the kernelspec SPEC the env ships\n' +
      '(share/jupyter/kernels/SPEC: an R kernel is `NAME:ir`), written as kernels/name-spec with its logos; a SPEC\n' +
      'the env does not ship is bad input (exit 2, inventory.ini:LINE). Kernel names are lowercased (Jupyter\n' +
      'stores them lowercase). A kernel whose python (or env) does not exist is not written (named; exit 1). An\n' +
      'env left out of an upgrade, or one of the adopted installation before ROOT/envs exists, runs from the\n' +
      'installation that serves it. See docs/deploy.md "kernels".',
    options: {
      'dry-run': { type: 'boolean', description: 'print what would be written' },
      wait,
    },
    load: () => import('../commands/kernels.js'),
  },
  {
    name: 'gc',
    summary: 'remove old builds, generations and installations by retention (dry run unless --yes)',
    usage:
      'conda-gitops gc [--root DIR] [--keep K] [--grace HOURS] [--keep-installations N] [--keep-runs N] ' +
      '[--runs-grace DAYS] [--retire NAME] [--yes | --dry-run] [--wait SECONDS] [--json]',
    details:
      'Keeps the last K generations (over all installations), always the live and the previous one, the builds\n' +
      'they reference, builds in progress, builds the repository asks for, builds younger than --grace, and\n' +
      'the builds of a qa installation ahead of current (a conda upgrade under review).\n' +
      'Removes other builds (prefix, record, log), other generations, and the package caches (pkgs/) of former\n' +
      'installations kept for rollback.\n' +
      'Installations (ROOT/vX, whole) go only by retention: the --keep-installations most recently live (by the\n' +
      'history; current counts) stay, and so does any that is current or qa, holds a kept generation (rollback\n' +
      'can reach it), has a build in progress or younger than --grace, or is the one the repository names.\n' +
      'Each installation gets one line: "v23.11.0: kept, live (current)", "v22.9.0: retired, last live\n' +
      '2026-10-01, beyond keep-installations = 2".\n' +
      'Only what conda-gitops wrote: builds with their record, installations carrying .conda-gitops-installation\n' +
      '(an installation it never wrote into, like the adopted one, stays unless named with --retire). Refuses a\n' +
      'root without .gitops/, never follows a symlink, and stops when it no longer holds the ROOT lock.\n' +
      'A removal the machine refuses (permission, read-only) stops gc with exit 4; what it moved to\n' +
      'ROOT/.gitops/trash/ is deleted by the next gc --yes.' +
      '\n' +
      'Run directories (ROOT/.gitops/runs/: reports and logs) go by retention: the last --keep-runs and any\n' +
      'younger than --runs-grace stay, and a run in progress (no report.json, younger than a day) always stays.',
    options: {
      keep: { type: 'string', arg: 'K', description: 'generations to keep (default 5)' },
      grace: {
        type: 'string',
        arg: 'HOURS',
        description: 'keep unreferenced builds younger than this (default 24; 0 = none)',
      },
      retire: {
        type: 'string',
        multiple: true,
        arg: 'NAME',
        description: 'retire this installation now, even the adopted one (e.g. v4.3.22; not if in use; repeatable)',
      },
      'keep-installations': {
        type: 'string',
        arg: 'N',
        description: 'installations to keep, most recently live first; current counts (default 2, >= 1)',
      },
      'dry-run': { type: 'boolean', description: 'only list what would be removed (the default; says so explicitly)' },
      'keep-runs': { type: 'string', arg: 'N', description: 'run directories to keep, newest first (default 20)' },
      'runs-grace': {
        type: 'string',
        arg: 'DAYS',
        description: 'keep run directories younger than this (default 14; or 36h, 2d; 0 = none)',
      },
      yes: { type: 'boolean', description: 'really remove (default: list what would go, with sizes)' },
      wait,
    },
    load: () => import('../commands/gc.js'),
  },
  {
    name: 'install-tool',
    summary: 'install this tool into ROOT/tools: the trusted copy QA, rollback and admins run (ROOT/tools/bin)',
    usage: 'conda-gitops install-tool [--root DIR] [--wait SECONDS] [--json]',
    details:
      'Copies the running tool (dist/, package.json, package-lock.json, node_modules) into\n' +
      'ROOT/tools/<version>-<id>/ (whole or not at all), points ROOT/tools/current at it with one rename and\n' +
      'writes the launcher ROOT/tools/bin/conda-gitops. deploy.yml runs it from main before each deploy, so jobs\n' +
      "on the shared runner run main's tool, never a pull request's; admins use the launcher on the server when\n" +
      'GitHub is down. Idempotent; keeps the 3 newest copies. Takes the ROOT lock.',
    options: { wait },
    load: () => import('../commands/install-tool.js'),
  },
  {
    name: 'install-conda',
    summary: 'install conda V at ROOT/vV with [conda] installer, verify it, write its .condarc from the inventory',
    usage: 'conda-gitops install-conda [--version V] [--root DIR] [--timeout SECONDS] [--wait SECONDS] [--json]',
    details:
      'Runs the installer [conda] installer names (a path, or an http/https/file URL downloaded under\n' +
      'ROOT/.gitops/downloads with a progress line; {version} is replaced) as `bash INSTALLER -b -p ROOT/vV`,\n' +
      'checked first against [conda] installer-sha256 when set (a mismatch installs nothing, exit 1). Verifies\n' +
      'that ROOT/vV/bin/conda --version says V, writes ROOT/vV/.condarc from [conda] (channels, custom-channels,\n' +
      "channel-alias, default-channels, pkgs-dirs, envs-dirs, solver) so builds never read the runner user's rc\n" +
      'files, and marks the installation as written by conda-gitops (gc). Default V: [conda] version.\n' +
      'Idempotent: a matching installation is left alone (exit 0). A half-finished install from a crash is\n' +
      'removed and redone. A failed installer, or one that writes no conda V, is removed: nothing is installed,\n' +
      'ROOT/current and ROOT/qa are untouched, its output is in the log named (and in --json). An existing\n' +
      'ROOT/vV that is not a conda installation (or another version) is refused and never deleted (exit 1).\n' +
      '`qa` and `build` run this themselves when the head names a version without an installation.\n' +
      'Takes the ROOT lock. Exit 0 installed or present, 1 failed or refused, 2 bad input, 3 lock busy.',
    options: {
      version: { type: 'string', arg: 'V', description: 'conda version to install (default: [conda] version)' },
      timeout: timeout('the installer run (default 1800)'),
      wait,
    },
    load: () => import('../commands/install-conda.js'),
  },
  {
    name: 'classify',
    summary: 'classify a conda/pip log: failure class, package at fault, excerpt and hint (JSON)',
    usage: 'conda-gitops classify [FILE|-]',
    details:
      'Reads a conda, mamba, micromamba or pip log (a file, or stdin when FILE is - or absent) and prints\n' +
      'the failure class (missing-package, missing-version, unsatisfiable, pip-failure, git-clone-failure,\n' +
      'channel-unreachable, timeout, unknown), the package and spec at fault, the lines that explain it and\n' +
      'a remediation hint, always as JSON. A per-env build log is narrowed to its last failed call.\n' +
      "The log alone cannot always tell a missing package from a missing version: conda's\n" +
      'PackagesNotFoundError reads the same for `foo=1.2` whether the channel lacks 1.2 or foo altogether,\n' +
      'so classify says missing-version; build and qa ask the channel (conda search) and correct it\n' +
      '(libmamba\'s "does not exist" is always missing-package). See docs/classify.md.\n' +
      'Exit 0 when classified, 2 when FILE cannot be read.',
    options: {},
    positionals: { min: 0, max: 1, names: '[FILE|-]' },
    load: () => import('../commands/classify.js'),
  },
  {
    name: 'build',
    summary: 'build REPLICATE envs into ROOT/vX/builds/NAME/<build-id>/ (skips tested builds)',
    usage:
      'conda-gitops build [--root DIR] [--env NAME]... [--base REF] [--jobs N] [--retry-failed] [--timeout SECONDS] ' +
      '[--json]',
    details:
      'Builds each REPLICATE env of the repository (or --env NAME) into the installation named by [conda] version,\n' +
      'at its resolved path ROOT/vX/builds/NAME/<build-id>/, with a record beside it ' +
      '(building|built|failed|tested|aborted).\n' +
      'Phases: create (spec minus legacy-noarch packages and git+ pip entries) -> install each legacy-noarch\n' +
      'package (micromamba and mamba 2 skip its pre-link script, so the build runs it: docs/qa.md) ->\n' +
      'pip-install each git entry -> record `conda list --json`. A tested build with the same id is\n' +
      'skipped; a crashed or interrupted (aborted) build is cleaned and rebuilt; a build that failed with the same\n' +
      'inputs for a deterministic reason (missing-package, missing-version, unsatisfiable) against an unchanged\n' +
      'local channel index reports its recorded failure again unless --retry-failed; anything else is retried.\n' +
      'conda, pip and tests get an allow-listed environment (see [conda] pass-env), never secrets.\n' +
      'SIGINT/SIGTERM stop every child, mark running builds aborted, exit 130/143.\n' +
      'Tests are not run: see `test`, or `qa`. Exit 1 when any env fails.\n' +
      "--base REF: a pull request's build (the build matrix of qa.yml): the configuration that decides how things\n" +
      "run (installer, .condarc keys, pass-env, unsandboxed-tests, the allow-lists) is REF's, not the checkout's,\n" +
      'and each build gets a private package cache: nothing it runs can write the shared one (docs/security.md).',
    options: {
      env: envFilter,
      base: { type: 'string', arg: 'REF', description: "a pull request's build: REF's configuration, private cache" },
      jobs,
      'retry-failed': retryFailed,
      timeout: timeout('each conda/pip call (default 3600)'),
    },
    load: () => import('../commands/build.js'),
  },
  {
    name: 'test',
    summary: 'test built envs: python runs, packages match the spec, kernels import ipykernel, NAME.test.*',
    usage: 'conda-gitops test [--root DIR] [--env NAME]... [--jobs N] [--timeout SECONDS] [--json]',
    details:
      "Tests each REPLICATE env's build (or --env NAME): its bin/python runs; every spec'd package is installed\n" +
      'at a version matching its spec (per the recorded `conda list --json`; pinned pip entries too); kernel envs\n' +
      "import ipykernel; env-specs/NAME.test.sh and NAME.test.py run with the build's bin first on PATH, a\n" +
      'minimal environment and a time limit (--timeout, default 600 s). The outcome is a verdict file beside\n' +
      'the build, keyed by its build id, test scripts and kernel check (the build record is not changed).\n' +
      'Exit 1 when any env fails or has no build.',
    options: {
      env: envFilter,
      jobs: testJobs,
      timeout: timeout('each env test script (default 600)'),
    },
    load: () => import('../commands/test.js'),
  },
  {
    name: 'qa',
    summary: 'pull-request QA: plan from the diff, build + test changed envs, write the report',
    usage:
      'conda-gitops qa [--root DIR] [--base REF] [--head REF] [--env NAME]... [--jobs N] [--retry-failed] ' +
      '[--timeout SECONDS] [--json]',
    details:
      'Plans the envs whose spec or inventory line changed between --base and --head (all REPLICATE envs when\n' +
      '[conda] version changed; every REPLICATE env without --base: unchanged ones cost nothing, their tested\n' +
      'builds are reused), builds and tests them into the installation the head names, and writes\n' +
      'ROOT/.gitops/runs/<run-id>/ report.json, summary.md, junit.xml and logs/. Without --head the work tree is\n' +
      'the head. Pass the merge base as --base (git merge-base origin/main HEAD): what the branch changed, not\n' +
      "what landed on main since. A head whose [conda] version is older than the base commit's or the live\n" +
      "installation's (ROOT/current) is refused before anything is built, exit 1: rebase on main.\n" +
      'A broken spec or a plan-time guard (prefix too long, channel not allowed) fails only its env.\n' +
      'Inside GitHub Actions: job summary, annotations at env-specs/NAME.yml:LINE, step outputs.\n' +
      'Builds and tests run in a bubblewrap sandbox (only the build, its temp dir and a private package cache\n' +
      'are writable; tests get no network); without bwrap the report says so and env test scripts are refused\n' +
      'unless [conda] unsandboxed-tests = allow. CONDA_GITOPS_SANDBOX=auto|bwrap|none overrides the choice.\n' +
      'Writes nothing outside ROOT/vX/builds/ and the run directory (but vX/.conda-gitops-installation, the\n' +
      'marker gc needs), except on an upgrade: when the head names a conda version with no installation, qa\n' +
      'installs it first (install-conda; the ROOT lock, waiting up to 10 min), points ROOT/qa at it (ROOT/qa only\n' +
      'moves forward: it stays at a newer installation another upgrade PR put there) and reports\n' +
      '"conda upgrade A -> B: N envs: K ok, F failed" (export envs not replicated); a failed install is reported.\n' +
      'Secrets of the environment (tokens, passwords, keys) reach no child and are masked in\n' +
      'every log and report. SIGINT/SIGTERM stop every child with its descendants, mark running builds aborted,\n' +
      'remove temp dirs, exit 130/143. Exit 1 when any env fails.',
    options: {
      base: {
        type: 'string',
        arg: 'REF',
        description: 'git ref of the PR base (the merge base with main): build only what changed since',
      },
      head: { type: 'string', arg: 'REF', description: 'git ref of the PR head (default: the work tree)' },
      env: envFilter,
      jobs,
      'retry-failed': retryFailed,
      timeout: timeout('each conda/pip call and test script'),
    },
    load: () => import('../commands/qa.js'),
  },
  {
    name: 'fix',
    summary: 'apply the remediation rules to env specs in place and print the diff',
    usage: 'conda-gitops fix [--env NAME]... [--dry-run] [--accept-nearest] [--root DIR] [--repo DIR] [--json]',
    details:
      'Rules (docs/qa.md): a package both in the conda deps and under pip is dropped from pip; a pip entry\n' +
      'the channel has as a noarch conda package moves to the conda deps; a version gone from the channel is never\n' +
      'guessed: fix lists the versions the channel has and names the nearest, and --accept-nearest writes it.\n' +
      'Legacy noarch packages are not rewritten (the build installs them after create). Comments, layout and line\n' +
      "endings are kept. Channel facts come from local channels' repodata.json, or `conda search` of the\n" +
      'installation named by [conda] version for remote ones. Default: every REPLICATE env.\n' +
      'Exit 0 done, 1 with --dry-run when a rule would apply (nothing written), 2 bad input.',
    options: {
      env: envFilter,
      'dry-run': { type: 'boolean', description: 'write nothing; exit 1 when a rule would apply' },
      check: { type: 'boolean', description: 'deprecated: the old name of --dry-run (warns)' },
      'accept-nearest': {
        type: 'boolean',
        description: 'write the nearest available version for versions gone from the channel',
      },
    },
    load: () => import('../commands/fix.js'),
  },
  {
    name: 'adopt',
    summary: 'inventory an existing conda installation: write inventory.ini and export every env to env-specs/',
    usage:
      'conda-gitops adopt --root DIR [--replicate all|NAME,...] [--kernels-from DIR]... [--force] [--repo DIR] ' +
      '[--json]',
    details:
      'DIR is the existing installation (the directory with bin/conda). Lists its envs (`conda env list --json`),\n' +
      'exports each with `env export --no-builds` into env-specs/NAME.yml and writes inventory.ini (every env\n' +
      '`export` unless --replicate). Fix-ups, each reported: build strings stripped when the conda in place ignores\n' +
      '--no-builds (4.3.0 to 4.3.30); `prefix:` dropped; pip packages installed from git written back as\n' +
      '`git+URL@commit#egg=name` from site-packages (PEP 610 direct_url.json, editable .egg-link checkouts), with a\n' +
      'list of the ones it could not recover; [legacy-noarch] filled with the packages the envs have installed with\n' +
      'a pre-link script of their own (bin/.NAME-pre-link.sh in conda-meta or the package cache: old noarch_python\n' +
      'builds, which conda >= 4.7 cannot create); [kernels] filled with the kernelspecs users have that run one of\n' +
      'its envs (in DIR/share/jupyter/kernels, /usr/local/share/jupyter/kernels and each --kernels-from DIR), with\n' +
      'their display names: `ENV = Name` for ipykernel, `ENV:SPEC = Name` for a kernelspec the env ships (an R\n' +
      'kernel: `ENV:ir`); commented out while the env is `export`. See docs/deploy.md "kernels".\n' +
      'Refuses to overwrite inventory.ini without --force.\n' +
      'Exit 0 adopted, 1 some env could not be exported, 2 bad input.',
    options: {
      'kernels-from': {
        type: 'string',
        arg: 'DIR',
        multiple: true,
        description: 'also adopt kernelspecs from DIR (a kernels/ directory of a JUPYTER_PATH entry); repeatable',
      },
      replicate: {
        type: 'string',
        arg: 'all|NAMES',
        description: 'mark these envs (comma separated) or all as REPLICATE',
      },
      force: { type: 'boolean', description: 'overwrite an existing inventory.ini and specs' },
    },
    load: () => import('../commands/adopt.js'),
  },
  {
    name: 'export',
    summary: 're-export envs listed in inventory.ini into env-specs/ (same fix-ups as adopt)',
    usage: 'conda-gitops export [--env NAME]... [--exact] [--root DIR] [--repo DIR] [--json]',
    details:
      'Runs `env export --no-builds` for each listed env (or --env NAME) of the installation ROOT/v<version>\n' +
      '(or ROOT itself when it is an unmanaged installation) and updates env-specs/NAME.yml: builds stripped\n' +
      'where conda ignores --no-builds, prefix dropped, git sources of pip packages recovered.\n' +
      "An existing spec keeps its own lines (loose pins like 'numpy>=1.20', comments, order) for every package\n" +
      'the installed version still satisfies; a line it no longer satisfies gets the exact version, packages new\n' +
      'in the env are added exactly, packages gone from it are dropped (each reported). --exact writes the\n' +
      'exported versions everywhere. A spec that does not parse is left alone (exit 1; fix it or use --exact).\n' +
      'Exit 0 done, 1 some env could not be exported, 2 bad input.',
    options: {
      env: envFilter,
      exact: { type: 'boolean', description: "write the exported exact versions, replacing the spec's own lines" },
    },
    load: () => import('../commands/export.js'),
  },
];
