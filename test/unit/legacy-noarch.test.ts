import { describe, expect, it } from 'vitest';
import {
  isLegacyNoarchRecord,
  legacyNoarchWarning,
  preLinkOwner,
  preLinkPaths,
  preLinkRun,
} from '../../scripts/core/legacy-noarch.js';

describe('legacy noarch: the pre-link script is the marker', () => {
  it('names the owner of a pre-link script, on unix and windows layouts', () => {
    expect(preLinkOwner('bin/.ipums_utils-pre-link.sh')).toBe('ipums_utils');
    expect(preLinkOwner('Scripts/.ipums-utils-pre-link.bat')).toBe('ipums-utils');
    expect(preLinkOwner('bin/.ipums_utils-post-link.sh')).toBeUndefined();
    expect(preLinkOwner('bin/ipums_utils-pre-link.sh')).toBeUndefined();
    expect(preLinkPaths('x')).toEqual(['bin/.x-pre-link.sh', 'Scripts/.x-pre-link.bat']);
  });

  it("a record is legacy when its own files carry its pre-link script; repodata's noarch is not looked at", () => {
    expect(isLegacyNoarchRecord({ name: 'ipums_utils', files: ['lib/x.py', 'bin/.ipums_utils-pre-link.sh'] })).toBe(
      true,
    );
    // another package's script, no files, a generic noarch record: not legacy
    expect(isLegacyNoarchRecord({ name: 'tool', files: ['bin/.other-pre-link.sh'] })).toBe(false);
    expect(isLegacyNoarchRecord({ name: 'tool' })).toBe(false);
    expect(isLegacyNoarchRecord({ name: 'fontpkg', files: ['fonts/a.ttf'], noarch: true } as never)).toBe(false);
  });

  it('export names the file, the package, its script and what to do', () => {
    expect(legacyNoarchWarning('env-specs/a.yml', 'ipums_utils')).toBe(
      "warning: env-specs/a.yml: 'ipums_utils' is a legacy noarch package (it ships bin/.ipums_utils-pre-link.sh): " +
        'list it under [legacy-noarch] in inventory.ini, else conda >= 4.7 fails to create the env ' +
        '(LinkError: pre-link script failed)',
    );
  });
});

describe('the pre-link run the build does where libmamba does not', () => {
  const rec = {
    name: 'ipums_utils',
    version: '1.2',
    build_number: 0,
    files: ['bin/.ipums_utils-pre-link.sh'],
    extracted_package_dir: '/inst/pkgs/ipums_utils-1.2-py_0/',
  };
  it("runs the extracted package's script with bash, PREFIX the env and SOURCE_DIR the package, as conda does", () => {
    expect(preLinkRun(rec, '/inst/builds/e/b1')).toEqual({
      argv: ['bash', '/inst/pkgs/ipums_utils-1.2-py_0/bin/.ipums_utils-pre-link.sh'],
      env: {
        PREFIX: '/inst/builds/e/b1',
        SOURCE_DIR: '/inst/pkgs/ipums_utils-1.2-py_0/',
        PKG_NAME: 'ipums_utils',
        PKG_VERSION: '1.2',
        PKG_BUILDNUM: '0',
      },
    });
  });
  it('nothing to run for a modern package, or when the record does not say where the package is', () => {
    expect(preLinkRun({ ...rec, files: ['lib/x.py'] }, '/p')).toBeUndefined();
    const { extracted_package_dir: _d, ...noDir } = rec;
    expect(preLinkRun(noDir, '/p')).toBeUndefined();
  });
});
