/** Fixture builders of the fake conda, for other tests and the sandbox. */
export {
  ensureBuilt,
  FIXTURE_VERSIONS,
  installerPath,
  installerTemplate,
  installFakeConda,
  makeGitPackage,
  repoRoot,
  runConda,
  writeChannel,
  writeCondarc,
  writeWheel,
} from './fixtures.js';
export type { ChannelRecord, CondaResult, FakeConda, InstallOptions } from './fixtures.js';
