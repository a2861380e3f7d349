/**
 * Every command's metadata. Command code is loaded lazily (see CommandMeta.load),
 * so `conda-gitops --help` never pays for rattler, ajv or zx.
 */
import type { CommandMeta, OptionDef } from '../lib/command.js';

/** Options every command accepts. */
export const GLOBAL_OPTIONS: Record<string, OptionDef> = {
  root: { type: 'string', arg: 'DIR', description: 'installation root (default: $CONDA_GITOPS_ROOT, then [conda] root)' },
  repo: { type: 'string', arg: 'DIR', description: 'repository with inventory.ini and env-specs/ (default: current directory)' },
  json: { type: 'boolean', description: 'machine-readable result on stdout; human text goes to stderr' },
  help: { type: 'boolean', short: 'h', description: 'show help for the command' },
};

const jobs: OptionDef = { type: 'string', arg: 'N', description: 'build N environments in parallel (default 1)' };
const envFilter: OptionDef = { type: 'string', arg: 'NAME', multiple: true, description: 'only this environment (repeatable)' };

export const COMMANDS: CommandMeta[] = [
  {
    name: 'validate',
    summary: 'check inventory.ini and every env spec; exit 2 with file:line errors',
    usage: 'conda-gitops validate [--repo DIR] [--json]',
    details: 'Parses inventory.ini and env-specs/*.yml and reports every problem at once.\nExit 0 when valid, 2 when any error was found. Warnings do not change the exit code.',
    options: {},
    load: () => import('./validate.js'),
  },
  {
    name: 'plan',
    summary: 'what to build, link and unlink: the repo against an installation or two commits',
    usage: 'conda-gitops plan [--root DIR] [--base REF --head REF] [--json]',
    details: 'Without --base/--head: the desired state of the repository against the live\ninstallation under --root (an empty root means everything is to build).\nWith --base and --head: the envs whose spec or inventory line changed between two commits.',
    options: {
      base: { type: 'string', arg: 'REF', description: 'git ref of the PR base' },
      head: { type: 'string', arg: 'REF', description: 'git ref of the PR head (default HEAD)' },
    },
    load: () => import('./plan.js'),
  },
  {
    name: 'schema',
    summary: 'print the JSON Schemas of inventory.ini, env specs and report.json',
    usage: 'conda-gitops schema [inventory|spec|report|build-record]',
    options: {},
    positionals: { min: 0, max: 1, names: '[NAME]' },
    load: () => import('./schema.js'),
  },
  // -- commands added by later modules go below; keep one entry per command --
];

export { jobs as JOBS_OPTION, envFilter as ENV_OPTION };
