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
