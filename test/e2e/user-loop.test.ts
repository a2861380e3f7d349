/**
 * The loop as users run it: a pull request branch, `qa --base <merge-base> --head HEAD` green, a merge commit on
 * main, then a PLAIN `deploy` (no --build-missing) that goes live without building anything, and `status` in
 * sync. One row per kind of change, played in turn on the same repository and installation, as a team would.
 * And the mirror: the same change committed straight to main without QA is named by `status` (exit 1, a
 * `To repair:` line) and a plain deploy refuses to put an untested build live (a change that needs no build,
 * such as a drop, is simply applied).
 */
import { gitRepo } from '../fixtures/git-repo.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { memoryOutput } from '../../scripts/cli/output.js';
import { runCommand } from '../fixtures/command.js';
import { makeQaWorld, STANDARD_RECORDS, worldSpec, type QaWorld } from '../fixtures/qa-world.js';
import { hostPython, installerTemplate, writeChannel } from '../fake-conda/index.js';

const OLD = '23.11.0';
const NEW = '24.1.2';

interface Row {
  change: string;
  edit(dir: string, w: LoopWorld): void;
  /**
   * what a plain deploy does when the change lands on main without QA; 'in-sync': nothing to test or deploy
   * (removing the test script asks for the verdict the build already had before the script existed)
   */
  unreviewed: 'refused' | 'applied' | 'in-sync';
}

interface LoopWorld extends QaWorld {
  channel2: string;
  template: string;
}

const spec = (w: LoopWorld, name: string, deps: string[], channels = [w.channel, w.channel2]) =>
  [`name: ${name}`, 'channels:', ...channels.map((c) => `  - ${c}`), 'dependencies:', ...deps.map((d) => `  - ${d}`)]
    .join('\n')
    .concat('\n');

/** inventory.ini edits by section, keeping everything else */
function editInventory(dir: string, fn: (sections: Map<string, string[]>) => void): void {
  const sections = new Map<string, string[]>();
  let current = '';
  for (const line of readFileSync(join(dir, 'inventory.ini'), 'utf8').split('\n')) {
    const m = /^\[(.+)\]$/.exec(line);
    if (m) current = m[1]!;
    else if (line.trim()) sections.set(current, [...(sections.get(current) ?? []), line]);
    if (m && !sections.has(current)) sections.set(current, []);
  }
  fn(sections);
  const text = [...sections].map(([name, lines]) => [`[${name}]`, ...lines, ''].join('\n')).join('\n');
  writeFileSync(join(dir, 'inventory.ini'), text);
}
const setLine = (lines: string[], key: string, value: string | undefined) => {
  const i = lines.findIndex((l) => l.split('=')[0]!.trim() === key);
  if (value === undefined) {
    if (i >= 0) lines.splice(i, 1);
  } else if (i >= 0) lines[i] = `${key} = ${value}`;
  else lines.push(`${key} = ${value}`);
};
const section = (s: Map<string, string[]>, name: string) => {
  if (!s.has(name)) s.set(name, []);
  return s.get(name)!;
};
const specFile = (dir: string, name: string) => join(dir, 'env-specs', `${name}.yml`);

const ROWS: Row[] = [
  {
    change: 'spec changed',
    edit: (dir, w) => writeFileSync(specFile(dir, 'app'), spec(w, 'app', ['python', 'requests', 'zlib'])),
    unreviewed: 'refused',
  },
  {
    change: 'env added',
    edit: (dir, w) => {
      writeFileSync(specFile(dir, 'extra'), spec(w, 'extra', ['zlib']));
      editInventory(dir, (s) => setLine(section(s, 'environments'), 'extra', 'REPLICATE'));
    },
    unreviewed: 'refused',
  },
  {
    change: 'env dropped',
    edit: (dir) => {
      rmSync(specFile(dir, 'extra'));
      editInventory(dir, (s) => setLine(section(s, 'environments'), 'extra', undefined));
    },
    unreviewed: 'applied',
  },
  {
    change: 'test script added',
    edit: (dir) => writeFileSync(join(dir, 'env-specs', 'tool.test.sh'), 'echo tool ok\n'),
    unreviewed: 'refused',
  },
  {
    change: 'test script changed',
    edit: (dir) => writeFileSync(join(dir, 'env-specs', 'tool.test.sh'), 'test -n "$CONDA_PREFIX"\n'),
    unreviewed: 'refused',
  },
  {
    change: 'test script removed',
    edit: (dir) => rmSync(join(dir, 'env-specs', 'tool.test.sh')),
    unreviewed: 'in-sync',
  },
  {
    change: 'kernel added',
    edit: (dir) => editInventory(dir, (s) => setLine(section(s, 'kernels'), 'geo', 'Geo (Python)')),
    unreviewed: 'refused',
  },
  {
    change: 'kernel removed',
    edit: (dir) => editInventory(dir, (s) => setLine(section(s, 'kernels'), 'geo', undefined)),
    unreviewed: 'applied',
  },
  {
    change: 'mode export -> REPLICATE',
    edit: (dir) => editInventory(dir, (s) => setLine(section(s, 'environments'), 'old', 'REPLICATE')),
    unreviewed: 'refused',
  },
  {
    change: 'mode REPLICATE -> export',
    edit: (dir) => editInventory(dir, (s) => setLine(section(s, 'environments'), 'old', 'export')),
    unreviewed: 'applied',
  },
  {
    // app depends on requests: listing it changes how app is built
    change: '[legacy-noarch] changed',
    edit: (dir) => editInventory(dir, (s) => section(s, 'legacy-noarch').push('requests')),
    unreviewed: 'refused',
  },
  {
    change: 'channel order changed',
    edit: (dir, w) => writeFileSync(specFile(dir, 'tool'), spec(w, 'tool', ['zlib'], [w.channel2, w.channel])),
    unreviewed: 'refused',
  },
  {
    change: '[conda] version bumped',
    edit: (dir) => editInventory(dir, (s) => setLine(section(s, 'conda'), 'version', NEW)),
    unreviewed: 'refused',
  },
];

describe('the user loop: PR, qa, merge, plain deploy, status in sync', () => {
  let w: LoopWorld;
  let dir: string;
  const { git, commit } = gitRepo(() => dir);
  const run = async (name: string, options: Record<string, unknown> = {}) => {
    const out = memoryOutput(false);
    const code = await runCommand(name, {
      options: { root: w.root, ...options },
      positionals: [],
      out,
      repo: dir,
      env: process.env,
    });
    return { code, text: [...out.lines, ...out.errors].join('\n') };
  };

  beforeAll(async () => {
    const world = makeQaWorld({ version: OLD });
    const channel2 = writeChannel(join(world.base, 'channel2'), STANDARD_RECORDS.slice(0, 2));
    const template = installerTemplate(join(world.base, 'installers'), [OLD, NEW]);
    w = { ...world, channel2, template };
    process.env.FAKE_CONDA_PYTHON = hostPython().python;
    process.env.FAKE_CONDA_PYTHON_VERSION = hostPython().version;
    dir = join(w.base, 'repo');
    mkdirSync(join(dir, 'env-specs'), { recursive: true });
    git('init', '-q', '-b', 'main');
    writeFileSync(
      join(dir, 'inventory.ini'),
      [
        '[conda]',
        `version = ${OLD}`,
        `channels = ${w.channel}, ${w.channel2}`,
        `installer = ${w.template}`,
        'pass-env = FAKE_CONDA_PYTHON, FAKE_CONDA_PYTHON_VERSION',
        '',
        '[environments]',
        'app = REPLICATE',
        'tool = REPLICATE',
        'geo = REPLICATE',
        'census = REPLICATE',
        'old = export',
        '',
        '[legacy-noarch]',
        'ipums_utils',
        '',
      ].join('\n'),
    );
    writeFileSync(specFile(dir, 'app'), spec(w, 'app', ['python', 'requests']));
    writeFileSync(join(dir, 'env-specs', 'app.test.py'), 'import requests\n');
    writeFileSync(specFile(dir, 'tool'), spec(w, 'tool', ['zlib']));
    writeFileSync(specFile(dir, 'geo'), spec(w, 'geo', ['python', 'ipykernel']));
    writeFileSync(specFile(dir, 'census'), spec(w, 'census', ['python', 'ipums_utils']));
    writeFileSync(specFile(dir, 'old'), worldSpec(w, 'old', ['zlib']));
    commit('initial');
    symlinkSync(`v${OLD}`, join(w.root, 'current'));
    symlinkSync(`v${OLD}`, join(w.root, 'qa'));
    // the first go-live: the admin builds and tests everything once
    const first = await run('deploy', { 'build-missing': true });
    expect(first.code, first.text).toBe(0);
    expect((await run('status')).code).toBe(0);
  }, 300_000);
  afterAll(() => w?.cleanup());

  /** status names the change with a repair line; a plain deploy refuses it, or would apply it (nothing to test) */
  const unreviewed = async (row: Row) => {
    const status = await run('status');
    if (row.unreviewed === 'in-sync') {
      expect(status.code, status.text).toBe(0);
      expect((await run('deploy', { 'dry-run': true })).code).toBe(0);
      return;
    }
    expect(status.code, status.text).toBe(1);
    expect(status.text).toMatch(/To repair:/);
    if (row.unreviewed === 'refused') {
      const deploy = await run('deploy');
      expect(deploy.code, deploy.text).toBe(1);
      expect(deploy.text).toMatch(/refus/);
    } else {
      // nothing to test: a deploy would apply it (its dry run says so; the PR row applies it for real)
      const dry = await run('deploy', { 'dry-run': true });
      expect(dry.code, dry.text).toBe(0);
    }
  };

  for (const row of ROWS) {
    test(`${row.change}: straight to main without QA: status names it, a plain deploy: ${row.unreviewed}`, async () => {
      git('checkout', '-qf', 'main');
      git('clean', '-fdq');
      const before = git('rev-parse', 'HEAD');
      row.edit(dir, w);
      commit(`unreviewed: ${row.change}`);
      try {
        await unreviewed(row);
      } finally {
        git('reset', '-q', '--hard', before); // back to what is live
      }
      const again = await run('status');
      expect(again.code, again.text).toBe(0);
    }, 300_000);

    test(`${row.change}: a pull request, qa at the merge base, merge, plain deploy, status in sync`, async () => {
      git('checkout', '-qf', '-B', `pr-${ROWS.indexOf(row)}`, 'main');
      git('clean', '-fdq');
      row.edit(dir, w);
      commit(row.change);
      const base = git('merge-base', 'main', 'HEAD');
      const qa = await run('qa', { base, head: 'HEAD' });
      expect(qa.code, qa.text).toBe(0);
      expect(qa.text).toMatch(/QA passed/);
      git('checkout', '-q', 'main');
      git('merge', '-q', '--no-ff', '-m', `Merge ${row.change}`, `pr-${ROWS.indexOf(row)}`);
      const deploy = await run('deploy');
      expect(deploy.code, deploy.text).toBe(0);
      expect(deploy.text).not.toMatch(/\bbuilding\b|built at deploy/i);
      const status = await run('status');
      expect(status.code, status.text).toBe(0);
      if (row.change === '[conda] version bumped') expect(readlinkSync(join(w.root, 'current'))).toBe(`v${NEW}`);
    }, 300_000);
  }
});
