/**
 * The package caches a build of an installation uses (docs/security.md, "The package cache"): the one decision of
 * where they are. conda uses only the configured `pkgs_dirs` (the inventory's `pkgs-dirs`, written into the
 * installation's .condarc by install-conda) and raises NoWritablePkgsDirError when none can be written; without
 * the key, `ROOT/vX/pkgs`. The sandbox binds exactly these, and parallel builds lock exactly these. Pure.
 */

/** The shared package caches of the installation at `installationDir`, in conda's order. */
export function packageCaches(installationDir: string, pkgsDirs?: readonly string[]): string[] {
  const configured = (pkgsDirs ?? []).map((d) => d.replace(/\/+$/, '') || '/');
  return configured.length ? [...new Set(configured)] : [`${installationDir.replace(/\/+$/, '')}/pkgs`];
}

/**
 * The lock of one package cache: a directory inside it that conda does not read as a package (no `info/`).
 * conda extracts a package by deleting its directory and unpacking it again in place, and locks only repodata
 * and partial downloads (conda/conda#8870, #13037): two builds writing one cache at once can link from a
 * half-extracted package. Every conda call of a build that uses the cache holds this lock.
 */
export function cacheLockPath(cacheDir: string): string {
  return `${cacheDir.replace(/\/+$/, '')}/.conda-gitops-cache.lock`;
}
