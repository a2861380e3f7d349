/**
 * The environment of every program conda-gitops starts (conda, pip, git, env tests): an allow-list of the
 * caller's environment, never the runner's whole environment. Secret-looking variables (tokens, passwords,
 * keys, GitHub/Actions credentials) never pass, even when an inventory names them. Pure.
 */

/** Passed as they are: what a shell, conda and pip need to work and to find the network. */
const EXACT = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'all_proxy',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'ALL_PROXY',
  'MAMBARC',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'REQUESTS_CA_BUNDLE',
  'CURL_CA_BUNDLE',
]);

/** Families passed by prefix: locale, and the settings conda, mamba and pip read. */
const PREFIXES = ['LC_', 'CONDA_', 'MAMBA_', 'PIP_'];

/**
 * The runner shell's conda/mamba activation and rc choice: which env is active, which root a mamba or micromamba
 * works on, which rc files apply. Never inherited (not even through pass-env): the tool names the installation, its
 * rc and the prefix of every call itself (`-r`, `-p`, and `set` for what it sets on purpose).
 */
const ACTIVATION_NAMES = [
  'MAMBA_ROOT_PREFIX',
  'MAMBA_EXE',
  'CONDARC',
  'CONDA_RESTRICT_RC_SEARCH_PATH',
  String.raw`CONDA_PREFIX(_\d+)?`,
  'CONDA_DEFAULT_ENV',
  'CONDA_SHLVL',
  'CONDA_EXE',
  'CONDA_PYTHON_EXE',
];
const ACTIVATION = new RegExp(`^(${ACTIVATION_NAMES.join('|')})$`);

/** Our own variables that are settings of this tool, not of the programs it runs. */
const OWN = /^CONDA_GITOPS_/;

/** Name parts that mark a secret: `GITHUB_TOKEN`, `PIP_PASSWORD`, `AWS_SECRET_ACCESS_KEY`, `NPM_AUTH`... */
const SECRET_PART =
  /(^|_)(TOKEN|SECRET|SECRETS|PASSWORD|PASSWD|PASS|PWD|PASSPHRASE|CREDENTIALS?|AUTH|KEY|APIKEY)S?(_|$)/;
/** Names that are credentials whatever they are called: the runner's and the workflow's. */
const SECRET_NAME = /^(ACTIONS_|GITHUB_TOKEN|GH_TOKEN|INPUT_|SSH_AUTH_SOCK$|.*TOKEN|.*SECRET|.*PASSWORD)/i;

/** True for a variable whose value must never reach a child nor any text the tool writes. */
export function isSecretName(name: string): boolean {
  if (name === 'PWD' || name === 'OLDPWD') return false; // the shell's working directory, not a password
  if (OWN.test(name)) return false; // CONDA_GITOPS_ROOT, CONDA_GITOPS_PASS_ENV: settings of this tool
  return SECRET_PART.test(name.toUpperCase()) || SECRET_NAME.test(name);
}

/** A name the inventory's `pass-env` may list: a plain variable name. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface ChildEnvOptions {
  /** more names to pass (the inventory's `[conda] pass-env`, CONDA_GITOPS_PASS_ENV); secrets are still dropped */
  pass?: readonly string[];
  /** set on top (computed by the tool itself, e.g. PIP_FIND_LINKS of a build); secrets are still dropped */
  set?: Record<string, string | undefined>;
}

/** The allow-listed part of `source`, plus `set`, without any secret-looking variable. */
export function childEnv(
  source: Record<string, string | undefined>,
  opts: ChildEnvOptions = {},
): Record<string, string> {
  const pass = new Set(opts.pass ?? []);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(source)) {
    if (value === undefined || isSecretName(name) || OWN.test(name) || ACTIVATION.test(name)) continue;
    if (EXACT.has(name) || pass.has(name) || PREFIXES.some((p) => name.startsWith(p))) env[name] = value;
  }
  for (const [name, value] of Object.entries(opts.set ?? {})) {
    if (value === undefined || isSecretName(name)) continue;
    env[name] = value;
  }
  return env;
}

/** Names listed in a comma/space separated value (CONDA_GITOPS_PASS_ENV), keeping only valid names. */
export function envNameList(value: string | undefined): string[] {
  return (value ?? '').split(/[\s,]+/).filter((n) => ENV_NAME.test(n));
}

/** The secret-looking variables of an environment: what the CLI removes from its own and redacts. */
export function secretEntries(source: Record<string, string | undefined>): Array<[string, string]> {
  return Object.entries(source).filter((e): e is [string, string] => e[1] !== undefined && isSecretName(e[0]));
}
