/**
 * The trust rule, written once (docs/security.md "What a pull request decides"): everything a pull request
 * brings is data; the configuration that decides HOW things run comes from the base commit. Every key of
 * inventory.ini is classified here; a pull request's QA (qa, plan, the build matrix job) reads the head
 * inventory through `trustedInventory`, so a head value of a `base` key has no effect. Pure.
 */
import type { Inventory } from './types.js';

export type Trust =
  /** data a pull request may change: QA builds and tests what it says */
  | 'head'
  /** decides how things run: taken from the base commit, whatever the pull request says */
  | 'base'
  /** an allow-list: from the base; a PR widening it builds nothing (core/allowlist.ts decides) */
  | 'allow-list';

/** Every [conda] key of inventory.ini (as written), its trust, and why. Adding a key without a row fails a test. */
export const CONDA_KEY_TRUST: Record<string, { trust: Trust; field: keyof Inventory['conda']; why: string }> = {
  version: {
    trust: 'head',
    field: 'version',
    why: 'which conda the envs are built with; the installer that installs it is the base one',
  },
  frontend: {
    trust: 'head',
    field: 'frontend',
    why: 'which binary of the base-installed installation runs (conda, mamba, micromamba): data, like version',
  },
  'installer-sha256': {
    trust: 'head',
    field: 'installerSha256',
    why: 'can only narrow what runs: the installer itself comes from the base (a digest belongs to one version)',
  },
  root: { trust: 'base', field: 'root', why: 'where the installation is' },
  installer: { trust: 'base', field: 'installer', why: 'a program QA runs outside any sandbox' },
  'custom-channels': {
    trust: 'base',
    field: 'customChannels',
    why: "the installation's .condarc: where packages come from",
  },
  'channel-alias': {
    trust: 'base',
    field: 'channelAlias',
    why: "the installation's .condarc: where packages come from",
  },
  'default-channels': { trust: 'base', field: 'defaultChannels', why: "the installation's .condarc" },
  'pkgs-dirs': { trust: 'base', field: 'pkgsDirs', why: "the installation's .condarc: the shared package cache" },
  'envs-dirs': { trust: 'base', field: 'envsDirs', why: "the installation's .condarc" },
  solver: { trust: 'base', field: 'solver', why: "the installation's .condarc" },
  'unsandboxed-tests': { trust: 'base', field: 'unsandboxedTests', why: 'whether PR code may run without a sandbox' },
  'pass-env': { trust: 'base', field: 'passEnv', why: "which of the runner's variables (secrets) PR code sees" },
  'allow-failures': { trust: 'base', field: 'allowFailures', why: 'read by deploy on main only; no effect on QA' },
  channels: { trust: 'allow-list', field: 'channels', why: 'the channels specs may name' },
  'pip-git-hosts': { trust: 'allow-list', field: 'pipGitHosts', why: 'the git hosts pip entries may name' },
  'pip-indexes': { trust: 'allow-list', field: 'pipIndexes', why: 'the pip indexes pip options may name' },
};

/** Sections other than [conda]: what is built, tested and published. */
export const SECTION_TRUST: Record<string, Trust> = {
  environments: 'head',
  kernels: 'head',
  'legacy-noarch': 'head',
};

/**
 * The inventory a pull request's QA runs with: the head's data (environments, kernels, legacy-noarch and the
 * `head` keys) and the base's configuration (every `base` and `allow-list` key; absent at the base, absent
 * here). Without a base (a trusted run on main), the inventory as it is.
 */
export function trustedInventory(base: Inventory | 'no-base' | undefined, head: Inventory): Inventory {
  if (!base) return head;
  const conda: Record<string, unknown> = { ...head.conda };
  for (const { trust, field } of Object.values(CONDA_KEY_TRUST)) {
    if (trust === 'head') continue;
    // a base without a readable inventory (the first pull request) trusts none of the head's configuration;
    // its allow-lists are checked as the head's (core/allowlist.ts)
    if (base === 'no-base') {
      if (trust === 'base') delete conda[field];
    } else if (base.conda[field] === undefined) delete conda[field];
    else conda[field] = base.conda[field];
  }
  return { ...head, conda: conda as Inventory['conda'] };
}

/** The `base` keys a pull request changed (ignored by its QA): said in the run's output so nobody is surprised. */
export function ignoredHeadKeys(base: Inventory | 'no-base' | undefined, head: Inventory): string[] {
  if (!base) return [];
  const baseValue = (field: keyof Inventory['conda']) => (base === 'no-base' ? undefined : base.conda[field]);
  return Object.entries(CONDA_KEY_TRUST)
    .filter(([, k]) => k.trust === 'base')
    .filter(([, k]) => JSON.stringify(baseValue(k.field)) !== JSON.stringify(head.conda[k.field]))
    .map(([key]) => key);
}

/** The warnings a pull request's run prints for its ignored configuration changes, at the [conda] line. */
export function ignoredKeyWarnings(base: Inventory | 'no-base' | undefined, head: Inventory): string[] {
  return ignoredHeadKeys(base, head).map(
    (key) =>
      `${head.file}:${head.conda.line}: warning: [conda] ${key} changed by this pull request is not used by its ` +
      'QA: it decides how builds run, so it comes from the base branch until merged (docs/security.md)',
  );
}
