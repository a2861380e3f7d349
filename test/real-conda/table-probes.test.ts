/**
 * Table probes: rows of test/fake-conda/README.md's behaviour tables, each run on REAL
 * conda (installer.sh, ../shared/real-conda) and on the fake at the same version, through the product's adapter.
 * A difference fails. Each probe is named in the fake's README as "real conda V, probe P" (P = the `probe:` name
 * in the test title).
 *
 * Cheap by design: the channels hold packages without files (`module: false`) except for the pip probes, so a
 * probe is one solve and a link; the pip probes (a python and pip in the env) run only where a row needs them.
 * `REAL_CONDA_TABLE_VERSIONS` (else `REAL_CONDA_VERSIONS`) narrows the versions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { Conda, execute, type CallOptions, type CallResult } from '../../scripts/engine/conda.js';
import { buildSteps } from '../../scripts/engine/build.js';
import { parseSpec } from '../../scripts/core/spec.js';
import { compareCondaVersions } from '../../scripts/core/conda-version.js';
import { classify } from '../../scripts/core/classify.js';
import { installFakeConda, writeWheel, type ChannelRecord } from '../fake-conda/index.js';
import {
  ALL_VERSIONS,
  installRealConda,
  missingPrerequisites,
  realChannelFixture,
  realCondaDir,
  removeUnlessKept,
} from './lane.js';

const archives = realCondaDir();
const missing = archives ? missingPrerequisites() : [];
const list = (v: string | undefined) => v?.split(/[\s,]+/).filter(Boolean);
/** the versions the rows name (or the nearest of the 13) */
const DEFAULT_VERSIONS = ['4.3.22', '4.6.10', '4.7.12', '4.9.2', '4.12.0', '22.11.1', '23.11.0'];
const VERSIONS = (
  list(process.env.REAL_CONDA_TABLE_VERSIONS) ??
  list(process.env.REAL_CONDA_VERSIONS) ??
  DEFAULT_VERSIONS
).filter((v) => ALL_VERSIONS.includes(v) || process.env.CONDA_GITOPS_REAL_CONDA_SRC);
const LONG = 15 * 60_000;
const at = (v: string, lo: string, hi?: string) =>
  compareCondaVersions(v, lo) >= 0 && (hi === undefined || compareCondaVersions(v, hi) < 0);

/** channel A: what `.condarc` configures; channel B: what the env files name */
const A: ChannelRecord[] = [{ name: 'onlya', version: '1.0', module: false }];
const B: ChannelRecord[] = [
  { name: 'onlyb', version: '1.0', module: false },
  { name: 'python', version: '3.9.18', module: false },
  { name: 'pip', version: '23.2.1', depends: ['python'], noarch: 'python' },
];

type Side = 'real' | 'fake';
const SIDES: Side[] = ['real', 'fake'];
type Sides<T> = Record<Side, T>;

let root: string;
let wheels: string;
const url: Record<Side, { a: string; b: string }> = { real: { a: '', b: '' }, fake: { a: '', b: '' } };

/** The first `ClassName: message` line of a call (what classify keys on), or a Python crash's class. */
const errorClass = (r: CallResult): string => {
  const text = `${r.stderr}\n${r.stdout}`;
  const line = text.split('\n').find((l) => /^\s*[A-Z]\w*(Error|Exception|NotFound|NotValid):/.test(l)) ?? '';
  return line.trim().split(':')[0]!;
};
const out = (r: CallResult) => `${r.stdout}\n${r.stderr}`;

if (!archives || missing.length) {
  describe('real conda table probes', () => {
    it.skip(`skipped: ${archives ? `missing ${missing.join(', ')}` : 'no conda source archives'}`, () => {});
  });
} else {
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'cg-realtable-'));
    for (const [key, recs] of [
      ['a', A],
      ['b', B],
    ] as const) {
      ({ fake: url.fake[key], real: url.real[key] } = realChannelFixture(root, key, recs));
    }
    wheels = join(root, 'wheels');
    writeWheel(wheels, 'tidyup', '0.4.2');
  }, LONG);
  afterAll(() => removeUnlessKept(root));

  for (const version of VERSIONS) {
    describe.sequential(`conda ${version} (table)`, () => {
      let dir: string;
      let conda: Sides<Conda>;
      let exe: Sides<string>;
      const home = (side: Side) => join(dir, `home-${side}`);
      const opts = (side: Side, env: Record<string, string> = {}): CallOptions => ({
        inheritEnv: false,
        timeoutSeconds: 600,
        cwd: dir,
        env: {
          PATH: '/usr/bin:/bin',
          HOME: home(side),
          LANG: 'C.UTF-8',
          PIP_NO_INDEX: '1',
          PIP_FIND_LINKS: wheels,
          PIP_CONFIG_FILE: '/dev/null',
          ...env,
        },
      });
      const both = async <T>(f: (side: Side) => Promise<T>): Promise<Sides<T>> => ({
        real: await f('real'),
        fake: await f('fake'),
      });
      /** an env file per side, the channels written as that side's URLs (`A`/`B` placeholders) */
      const envFile = (side: Side, name: string, text: string) => {
        const f = join(dir, `${side}-${name}.yml`);
        writeFileSync(f, text.split('CHAN_A').join(url[side].a).split('CHAN_B').join(url[side].b));
        return f;
      };
      const prefix = (side: Side, name: string) => join(dir, side, 'envs', name);
      const raw = (side: Side, args: string[], env: Record<string, string> = {}) =>
        execute([exe[side], ...args], opts(side, env));

      beforeAll(() => {
        dir = join(root, version);
        for (const side of SIDES) mkdirSync(home(side), { recursive: true });
        process.env.REAL_CONDA_CHANNELS = url.real.a;
        const real = installRealConda(join(dir, 'real'), version, join(root, 'installers'));
        const fake = installFakeConda(join(dir, 'fake'), version, { channels: [url.fake.a], home: '$HOME' });
        exe = { real: real.conda, fake: fake.conda };
        conda = {
          real: Conda.forInstallation(real.prefix, 'conda', opts('real')),
          fake: Conda.forInstallation(fake.prefix, 'conda', opts('fake')),
        };
      }, LONG);

      it(
        'nodefaults in an env file drops every configured channel, not only defaults (probe: nodefaults)',
        async () => {
          // .condarc configures A; the file names B and nodefaults and asks for a package only A has
          const r = await both((side) =>
            conda[side].createFromFile(
              envFile(side, 'nodefaults', 'channels:\n  - CHAN_B\n  - nodefaults\ndependencies:\n  - onlya\n'),
              prefix(side, 'nodefaults'),
            ),
          );
          expect(r.real.code, out(r.real)).not.toBe(0);
          expect(r.fake.code, out(r.fake)).toBe(r.real.code);
          expect(classify(out(r.fake)).class).toBe(classify(out(r.real)).class);
          // KNOWN DIFFERENCE: from 23.10 the fake plays conda with conda-libmamba-solver, the lane's real conda has
          // no plugin and runs the classic solver (its own wording of the same failure)
          if (!at(version, '23.10')) expect(errorClass(r.fake)).toBe(errorClass(r.real));
          // without nodefaults the configured channel is searched
          const ok = await both((side) =>
            conda[side].createFromFile(
              envFile(side, 'configured', 'channels:\n  - CHAN_B\ndependencies:\n  - onlya\n  - onlyb\n'),
              prefix(side, 'configured'),
            ),
          );
          expect(ok.real.code, out(ok.real)).toBe(0);
          expect(ok.fake.code, out(ok.fake)).toBe(0);
        },
        LONG,
      );

      it(
        'env create on an existing env; env export --no-builds (probe: existing env + export)',
        async () => {
          const file = (side: Side) =>
            envFile(side, 'existing', 'channels:\n  - CHAN_B\ndependencies:\n  - onlya\n  - onlyb\n');
          const first = await both((side) => conda[side].createFromFile(file(side), prefix(side, 'existing')));
          expect(first.real.code, out(first.real)).toBe(0);
          expect(first.fake.code, out(first.fake)).toBe(0);
          const again = await both((side) => conda[side].createFromFile(file(side), prefix(side, 'existing')));
          expect(again.real.code, out(again.real)).toBe(1);
          expect(again.fake.code).toBe(1);
          expect(errorClass(again.fake)).toBe(errorClass(again.real));
          const exp = await both((side) => conda[side].exportEnv(prefix(side, 'existing'), { noBuilds: true }));
          const deps = (t: string | undefined) =>
            ((load(t ?? '') as { dependencies?: string[] } | undefined)?.dependencies ?? []).slice().sort();
          expect(deps(exp.fake.value)).toEqual(deps(exp.real.value));
        },
        LONG,
      );

      it(
        '`env export --from-history`: from 4.7.12, an argparse error before (probe: from-history)',
        async () => {
          // the env of the probe above (env create of onlya + onlyb from CHAN_B); one conda call per side
          const r = await both((side) =>
            raw(side, ['env', 'export', '--from-history', '-p', prefix(side, 'existing')]),
          );
          expect(r.fake.code, `${out(r.real)}\n---\n${out(r.fake)}`).toBe(r.real.code);
          if (r.real.code !== 0) return;
          const deps = (t: string) => ((load(t) as { dependencies?: string[] }).dependencies ?? []).slice().sort();
          expect(deps(r.fake.stdout)).toEqual(deps(r.real.stdout));
        },
        LONG,
      );

      it(
        '`--json` errors: one JSON object on stdout with caused_by, error, exception_name, exception_type, message ' +
          '(probe: json error)',
        async () => {
          const r = await both((side) =>
            raw(side, [
              'create',
              '--json',
              '-y',
              '-p',
              prefix(side, 'jsonerr'),
              '--override-channels',
              '-c',
              url[side].b,
              'nosuchpkg',
            ]),
          );
          expect(r.real.code, out(r.real)).toBe(1);
          expect(r.fake.code, out(r.fake)).toBe(1);
          const KEYS = ['caused_by', 'error', 'exception_name', 'exception_type', 'message'];
          const shape = (t: string) => {
            const o = JSON.parse(t) as Record<string, unknown>;
            return { keys: KEYS.filter((k) => k in o), name: o.exception_name };
          };
          const real = shape(r.real.stdout);
          const fake = shape(r.fake.stdout);
          expect(fake.keys).toEqual(real.keys);
          // KNOWN DIFFERENCE: from 23.10 the fake plays conda with conda-libmamba-solver (see probe nodefaults)
          if (!at(version, '23.10')) expect(fake.name).toBe(real.name);
        },
        LONG,
      );

      // 4.3 on this lane's Python 3.11: argparse names the subcommand action differently from the Pythons 4.3 ran
      // on, so conda's ArgumentParser.error no longer finds it (exit 2 for `frobnicate` and `run`, not
      // CommandNotFoundError): source reading only for 4.3 (fake README)
      it.runIf(at(version, '4.4'))(
        'an unknown command; `run` before 4.6 (probe: commands)',
        async () => {
          for (const args of [['frobnicate'], ['run', '-p', dir, 'true']]) {
            if (args[0] === 'run' && at(version, '4.6')) continue;

            const r = await both((side) => raw(side, args));
            expect(r.real.code, `${args.join(' ')}: ${out(r.real)}`).not.toBe(0);
            expect(r.fake.code, `${args.join(' ')}: ${out(r.fake)}`).toBe(r.real.code);
            expect(errorClass(r.fake), args.join(' ')).toBe(errorClass(r.real));
          }
        },
        LONG,
      );

      it(
        'variables: in an env file: SpecNotFound (4.3), ignored (4.6-4.8), conda-meta/state (4.9+) (probe: variables)',
        async () => {
          const r = await both((side) =>
            conda[side].createFromFile(
              envFile(side, 'vars', 'channels:\n  - CHAN_B\ndependencies:\n  - onlyb\nvariables:\n  CG_PROBE: one\n'),
              prefix(side, 'vars'),
            ),
          );
          expect(r.fake.code, out(r.fake)).toBe(r.real.code);
          const seen = (x: CallResult, side: Side) => ({
            error: errorClass(x),
            typeError: /TypeError: .*unexpected keyword argument 'variables'/.test(out(x)),
            notValid: /EnvironmentSectionNotValid/.test(out(x)),
            state: existsSync(join(prefix(side, 'vars'), 'conda-meta', 'state'))
              ? (JSON.parse(readFileSync(join(prefix(side, 'vars'), 'conda-meta', 'state'), 'utf8')) as unknown)
              : null,
          });
          expect(seen(r.fake, 'fake')).toEqual(seen(r.real, 'real'));
        },
        LONG,
      );

      it.runIf(at(version, '22.11'))(
        'env create --yes: an argparse error before 23.7 (probe: env create --yes)',
        async () => {
          const r = await both((side) =>
            raw(side, [
              'env',
              'create',
              '--yes',
              '-f',
              envFile(side, 'yes', 'channels:\n  - CHAN_B\ndependencies:\n  - onlyb\n'),
              '-p',
              prefix(side, 'yes'),
            ]),
          );
          expect(r.real.code, out(r.real)).toBe(at(version, '23.7') ? 0 : 2);
          expect(r.fake.code, out(r.fake)).toBe(r.real.code);
        },
        LONG,
      );

      it.runIf(at(version, '4.9', '23.10'))(
        'the XDG rc file ($XDG_CONFIG_HOME/conda/.condarc) is read from 4.11 (probe: xdg)',
        async () => {
          const info = await both(async (side) => {
            const xdg = join(dir, `xdg-${side}`);
            mkdirSync(join(xdg, 'conda'), { recursive: true });
            writeFileSync(join(xdg, 'conda', '.condarc'), `channels:\n  - ${url[side].b}\n`);
            return raw(side, ['info', '--json'], { XDG_CONFIG_HOME: xdg });
          });
          const chans = (r: CallResult, side: Side) =>
            ((JSON.parse(r.stdout) as { channels: string[] }).channels ?? []).some((c) => c.startsWith(url[side].b));
          expect(chans(info.real, 'real'), info.real.stdout).toBe(at(version, '4.11'));
          expect(chans(info.fake, 'fake')).toBe(chans(info.real, 'real'));
        },
        LONG,
      );

      it.runIf(at(version, '4.12', '23.10'))(
        'solver: libmamba without the plugin: ignored before 22.11, CondaValueError from 22.11 (probe: solver)',
        async () => {
          const r = await both((side) => {
            const rc = join(dir, `solver-${side}.condarc`);
            writeFileSync(rc, 'solver: libmamba\n');
            return raw(side, ['create', '-y', '-p', prefix(side, 'solver'), 'onlya'], { CONDARC: rc });
          });
          expect(r.real.code, out(r.real)).toBe(at(version, '22.11') ? 1 : 0);
          expect(r.fake.code, out(r.fake)).toBe(r.real.code);
          expect(errorClass(r.fake)).toBe(errorClass(r.real));
          if (at(version, '22.11')) expect(out(r.fake)).toMatch(/Choose one of: classic/);
        },
        LONG,
      );

      it.runIf(['4.3.22', '4.6.10', '4.7.12'].includes(version))(
        'a pip: section without pip in the dependencies (add_pip_as_python_dependency off) (probe: pip without pip)',
        async () => {
          const r = await both((side) => {
            const rc = join(dir, `nopip-${side}.condarc`);
            writeFileSync(rc, 'add_pip_as_python_dependency: false\n');
            return conda[side].createFromFile(
              envFile(
                side,
                'nopip',
                'channels:\n  - CHAN_B\ndependencies:\n  - python\n  - pip:\n    - tidyup==0.4.2\n',
              ),
              prefix(side, 'nopip'),
              opts(side, { CONDARC: rc }),
            );
          });
          expect(r.fake.code, out(r.fake)).toBe(r.real.code);
          const seen = (x: CallResult, side: Side) => ({
            crash: /TypeError/.test(out(x)),
            adding: /I'm adding one for you/.test(out(x)),
            pip: existsSync(join(prefix(side, 'nopip'), 'bin', 'pip')),
            // the pip command line conda prints (4.6.9+): -U from 4.6.13
            upgrade: /Ran pip subprocess with arguments:\n.*'-U'/.test(x.stdout),
          });
          expect(seen(r.fake, 'fake')).toEqual(seen(r.real, 'real'));
        },
        LONG,
      );

      it.runIf(version === '4.7.12')(
        'a pip failure: "Pip subprocess error:" on stderr (probe: pip error stream)',
        async () => {
          const r = await both((side) =>
            conda[side].createFromFile(
              envFile(
                side,
                'badpip',
                'channels:\n  - CHAN_B\ndependencies:\n  - python\n  - pip\n  - pip:\n    - conda-gitops-nosuch==9.9\n',
              ),
              prefix(side, 'badpip'),
            ),
          );
          expect(r.fake.code, out(r.fake)).toBe(r.real.code);
          const where = (x: CallResult) => ({
            stderr: x.stderr.includes('Pip subprocess error:'),
            stdout: x.stdout.includes('Pip subprocess error:'),
          });
          expect(where(r.fake)).toEqual(where(r.real));
        },
        LONG,
      );

      it.runIf(version === '4.3.22')(
        '4.3 passes pip lines as arguments: "-r /abs" as one token fails (probe: pip lines as arguments)',
        async () => {
          const req = join(dir, 'req.txt');
          writeFileSync(req, 'tidyup==0.4.2\n');
          const r = await both((side) =>
            conda[side].createFromFile(
              envFile(
                side,
                'dashr',
                `channels:\n  - CHAN_B\ndependencies:\n  - python\n  - pip\n  - pip:\n    - -r ${req}\n`,
              ),
              prefix(side, 'dashr'),
            ),
          );
          expect(r.real.code, out(r.real)).toBe(1);
          expect(r.fake.code, out(r.fake)).toBe(1);
          expect(errorClass(r.fake)).toBe(errorClass(r.real));
        },
        LONG,
      );

      it.runIf(version === '4.3.22' || version === '4.6.10')(
        "the product's env file for a pip section with `-r file` and no pip works (probe: product pip section)",
        async () => {
          const specDir = join(dir, 'spec');
          mkdirSync(specDir, { recursive: true });
          writeFileSync(join(specDir, 'req.txt'), 'tidyup==0.4.2\n');
          const r = await both((side) => {
            const text =
              `name: prodpip\nchannels:\n  - ${url[side].b}\n  - nodefaults\n` +
              'dependencies:\n  - python\n  - pip:\n    - -r req.txt\n';
            const parsed = parseSpec(text, join(specDir, 'prodpip.yml'), 'prodpip');
            expect(parsed.problems.filter((p) => p.severity === 'error')).toEqual([]);
            const steps = buildSteps(parsed.spec!, [], specDir, { condaVersion: version });
            const file = join(dir, `${side}-prodpip.yml`);
            writeFileSync(file, steps.createSpec);
            const rc = join(dir, `prodpip-${side}.condarc`);
            writeFileSync(rc, 'add_pip_as_python_dependency: false\n');
            return conda[side].createFromFile(file, prefix(side, 'prodpip'), opts(side, { CONDARC: rc }));
          });
          for (const side of SIDES) {
            expect(r[side].code, `${side}: ${out(r[side])}`).toBe(0);
            const v = execFileSync(
              join(prefix(side, 'prodpip'), 'bin', 'python'),
              ['-c', 'import tidyup; print(tidyup.__version__)'],
              {
                encoding: 'utf8',
                env: { PATH: '/usr/bin:/bin' },
              },
            );
            expect(v.trim(), side).toBe('0.4.2');
          }
        },
        LONG,
      );
    });
  }
}
