/**
 * Legacy noarch packages (conda-build 1.x/2.0 `noarch_python: True`): repodata gives them NO `noarch` key (a boolean
 * `"noarch": true` means *generic* to conda); what marks them is the pre-link script `bin/.NAME-pre-link.sh`
 * (`Scripts/.NAME-pre-link.bat`) that runs their bundled `link.py`. conda >= 4.7 runs every pre-link before linking
 * anything, so it fails in a create (`LinkError: pre-link script failed`). Pure: engine/legacy-noarch.ts reads
 * the installation's conda-meta records and package cache.
 */

/** A conda-meta record as far as this needs it. */
export interface InstalledRecord {
  name: string;
  files?: readonly string[];
}

const PRE_LINK = /^(?:bin|Scripts)[/\\]\.(.+)-pre-link\.(?:sh|bat)$/;

/** The package name a pre-link script path belongs to (`bin/.ipums_utils-pre-link.sh` -> `ipums_utils`). */
export function preLinkOwner(path: string): string | undefined {
  return PRE_LINK.exec(path)?.[1];
}

/** The relative paths a package's pre-link script can have. */
export function preLinkPaths(name: string): string[] {
  return [`bin/.${name}-pre-link.sh`, `Scripts/.${name}-pre-link.bat`];
}

/** Does the record ship its own pre-link script (the legacy noarch_python marker)? */
export function isLegacyNoarchRecord(record: InstalledRecord): boolean {
  return (record.files ?? []).some((f) => preLinkOwner(f) === record.name);
}

/** `export`: an env has a legacy noarch package that inventory.ini's [legacy-noarch] does not list. */
export function legacyNoarchWarning(file: string, name: string): string {
  return (
    `warning: ${file}: '${name}' is a legacy noarch package (it ships bin/.${name}-pre-link.sh): ` +
    'list it under [legacy-noarch] in inventory.ini, else conda >= 4.7 fails to create the env ' +
    '(LinkError: pre-link script failed)'
  );
}

/** A conda-meta record as the pre-link step reads it (fields the tool may leave out are optional). */
export interface LinkedRecord extends InstalledRecord {
  version?: string;
  build_number?: number;
  /** where the package is extracted, as the tool that linked it saw the path */
  extracted_package_dir?: string;
}

/** A pre-link script to run: argv and the variables conda gives it. */
export interface PreLinkRun {
  argv: string[];
  env: Record<string, string>;
}

/**
 * The pre-link script of a legacy noarch package, run as conda runs it (conda/core/link.py `run_script`, action
 * `pre-link`): the extracted package's own `bin/.NAME-pre-link.sh` under bash, PREFIX the env, SOURCE_DIR the
 * extracted package (its `link.py` copies the module into the env's site-packages with the env's python).
 * libmamba (micromamba, mamba 2) never runs pre-link scripts, so the build runs this after installing the package.
 * undefined: the record is not a legacy noarch package, or does not say where its package is extracted.
 */
export function preLinkRun(record: LinkedRecord, prefix: string): PreLinkRun | undefined {
  const dir = record.extracted_package_dir;
  if (!isLegacyNoarchRecord(record) || !dir) return undefined;
  return {
    argv: ['bash', `${dir.replace(/\/+$/, '')}/${preLinkPaths(record.name)[0]!}`],
    env: {
      PREFIX: prefix,
      SOURCE_DIR: dir,
      PKG_NAME: record.name,
      ...(record.version !== undefined ? { PKG_VERSION: record.version } : {}),
      ...(record.build_number !== undefined ? { PKG_BUILDNUM: String(record.build_number) } : {}),
    },
  };
}
