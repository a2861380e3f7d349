/** Fixture builders of the fake conda, for other tests and the sandbox. */
export {
  ensureBuilt,
  FIXTURE_VERSIONS,
  hostPython,
  installerPath,
  installerTemplate,
  installFakeConda,
  makeGitPackage,
  makePlantingPackage,
  moduleOf,
  repoRoot,
  runConda,
  runCondaAsync,
  writeChannel,
  writeCondarc,
  writeWheel,
} from './fixtures.js';
export type { ChannelRecord, CondaResult, FakeConda, InstallOptions } from './fixtures.js';
