/**
 * The layers of scripts/ as a fact: cli > commands > app > engine|state|repo > core, core pure, commands
 * independent, tests driving commands through the CLI, and every core module with a unit test of its own.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkImports,
  hasRuntimeExports,
  functionsOf,
  importsOf,
  longFunctions,
  oneDesiredStateViolations,
  trackerNumbersInTestNames,
  unlistedProcessStarts,
  valueImportsUnder,
  type Rule,
} from './fixtures/architecture.js';

const tree = (files: Record<string, string>) => new Map(Object.entries(files));

describe('checkImports on synthetic trees', () => {
  it('a core file importing node:fs is exactly one core-pure violation, naming file, line, import and rule', () => {
    const files = tree({
      'scripts/core/a.ts': "import { join } from 'node:path';\nimport { readFileSync } from 'node:fs';\n",
      'scripts/core/b.ts': "import { x } from './a.js';\n",
    });
    expect(checkImports(files)).toEqual([
      {
        file: 'scripts/core/a.ts',
        line: 2,
        specifier: 'node:fs',
        rule: 'core-pure',
        message:
          "scripts/core/a.ts:2: 'node:fs' breaks core-pure: core/ is pure: no module with effects " +
          '(disk, processes, network, locks, the Actions runner)',
      },
    ]);
  });

  it('an upward import is a layer violation naming both layers and the ladder', () => {
    const files = tree({
      'scripts/app/use.ts': [
        "import type { Context } from '../cli/command.js';",
        "import { plan } from '../core/plan.js';",
      ].join('\n'),
      'scripts/cli/command.ts': '',
      'scripts/engine/conda.ts': "import { lock } from '../state/lock.js';\n", // equal rank: fine
    });
    expect(checkImports(files)).toEqual([
      {
        file: 'scripts/app/use.ts',
        line: 1,
        specifier: '../cli/command.js',
        rule: 'layer',
        message:
          "scripts/app/use.ts:1: '../cli/command.js' breaks layer: app (3) may not import cli (5); " +
          'a file imports its own layer or lower ones: cli 5 > commands 4 > app 3 > engine, state, repo 2 > core 1',
      },
    ]);
  });

  it('a command importing another command is a violation; the CLI importing commands is not', () => {
    const files = tree({
      'scripts/commands/deploy.ts': "import { run } from './build.js';\n",
      'scripts/commands/build.ts': "import { buildAll } from '../app/build.js';\n",
      'scripts/cli/registry.ts': "const load = () => import('../commands/deploy.js');\n",
    });
    expect(checkImports(files)).toEqual([
      {
        file: 'scripts/commands/deploy.ts',
        line: 1,
        specifier: './build.js',
        rule: 'command-imports-command',
        message:
          "scripts/commands/deploy.ts:1: './build.js' breaks command-imports-command: a command never imports " +
          'another command: what they share belongs in app/ or lower',
      },
    ]);
  });

  it("only cli/ sets exit codes: process.exit, exitCode below it are violations; engine/ reads a child's", () => {
    const files = tree({
      'scripts/commands/deploy.ts': 'export async function run() {\n  process.exitCode = 1;\n  return OK;\n}\n',
      'scripts/app/fix.ts': 'const exitCode = 2;\nreturn { exitCode };\n',
      'scripts/state/lock.ts': 'process.exit(3);\n',
      'scripts/engine/conda.ts': 'const code = output.exitCode;\n',
      'scripts/cli/main.ts': 'process.exitCode = await main(process.argv.slice(2));\n',
      'scripts/sandbox.ts': 'process.exitCode = 1;\n',
    });
    expect(checkImports(files).map((v) => `${v.file}:${v.line} ${v.specifier} ${v.rule}`)).toEqual([
      'scripts/app/fix.ts:1 exitCode exit-code-owner',
      'scripts/app/fix.ts:2 exitCode exit-code-owner',
      'scripts/commands/deploy.ts:2 process.exitCode exit-code-owner',
      'scripts/state/lock.ts:1 process.exit exit-code-owner',
    ]);
  });

  it('a test importing a command, even through a template, is a violation; importing app/ is not', async () => {
    const files = tree({
      'test/unit/x.test.ts': [
        "import { deploy } from '../../scripts/app/deploy.js';",
        'const mod = await import(`../../scripts/commands/${name}.ts`);',
      ].join('\n'),
    });
    expect(checkImports(files).map((v) => [v.file, v.line, v.specifier, v.rule])).toEqual([
      ['test/unit/x.test.ts', 2, '../../scripts/commands/${…}.ts', 'test-imports-command'],
    ]);
  });

  it('core may use pure packages, node:path and schemas/*.json, but not process state or other layers', () => {
    const files = tree({
      'scripts/core/ok.ts': [
        "import { join } from 'node:path';",
        "import ini from 'ini';",
        "import schema from '../../schemas/report.schema.json' with { type: 'json' };",
        "type R = typeof import('@conda-org/rattler');",
        'const opts = { process: 1 }; opts.process;',
      ].join('\n'),
      'scripts/core/bad.ts': [
        "import type { Repo } from '../repo/repo.js';",
        "export * from 'node:child_process';",
        'const home = process.env.HOME;',
        'const { argv } = process;',
        "console.log('hi');",
        "import { $ } from 'zx';",
      ].join('\n'),
    });
    expect(checkImports(files).map((v) => `${v.line} ${v.specifier} ${v.rule}`)).toEqual([
      '1 ../repo/repo.js core-pure',
      '2 node:child_process core-pure',
      '3 process.env core-pure',
      '4 process core-pure',
      '5 console.log core-pure',
      '6 zx core-pure',
    ]);
  });

  it('finds every import form and none inside comments, strings, templates or regex literals', () => {
    const src = [
      "import a from 'static';",
      "import type { B } from 'type-only';",
      "import 'side-effect';",
      "export { c } from 're-export';",
      "export type { D } from 're-export-type';",
      "export * as e from 'star';",
      'import {',
      '  f,',
      "} from 'multi-line';",
      "const g = await import('dynamic');",
      "const h = require('cjs');",
      "// import x from 'line-comment';",
      "/* import y from 'block-comment'; */",
      'const s = "import z from \'string\'";',
      'const t = `import w from "template" ${`nested ${import(\'in-hole\')}`}`;',
      "const r = /import v from 'regex'/; const q = 1 / 2; import('after-division');",
      'const url = import.meta.url;',
    ].join('\n');
    expect(importsOf(src).map((i) => `${i.line} ${i.specifier}${i.typeOnly ? ' (type)' : ''}`)).toEqual([
      '1 static',
      '2 type-only (type)',
      '3 side-effect',
      '4 re-export',
      '5 re-export-type (type)',
      '6 star',
      '7 multi-line',
      '10 dynamic',
      '11 cjs',
      '15 in-hole',
      '16 after-division',
    ]);
  });

  it('a unit test covers a module only by importing its values: `import type` does not count', () => {
    const files = tree({
      'test/unit/a.test.ts': [
        "import { f } from '../../scripts/core/a.js';",
        "import type { T } from '../../scripts/core/b.js';",
      ].join('\n'),
      'test/e2e/c.test.ts': "import { g } from '../../scripts/core/c.js';",
    });
    expect([...valueImportsUnder(files, 'test/unit/')]).toEqual(['scripts/core/a.ts']);
  });

  it('a module of types only has no runtime exports', () => {
    const typesOnly = 'export type A = 1;\nexport interface B { x: 1 }\nexport type { C } from "./c.js";';
    expect(hasRuntimeExports(typesOnly)).toBe(false);
    expect(hasRuntimeExports('export interface B { x: 1 }\nexport function f() {}')).toBe(true);
  });
});

// ---- the real tree ----

const ROOT = join(import.meta.dirname, '..');

/** Every .ts file under the given top-level dirs, by repo-relative posix path. */
function readSources(...dirs: string[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const dir of dirs) {
    for (const name of readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })) {
      if (!name.endsWith('.ts')) continue;
      files.set(`${dir}/${name.split(sep).join('/')}`, readFileSync(join(ROOT, dir, name), 'utf8'));
    }
  }
  return files;
}

describe('the real tree', () => {
  const files = readSources('scripts', 'test');
  const violations = checkImports(files);
  const rules: Rule[] = ['core-pure', 'layer', 'command-imports-command', 'test-imports-command', 'exit-code-owner'];

  it('finds the sources', () => {
    expect([...files.keys()]).toContain('scripts/cli/main.ts');
    expect([...files.keys()]).toContain('test/architecture.test.ts');
  });

  // one test per rule, so a failure says which rule; the expected [] shows every offending import
  it.each(rules)('no file breaks %s', (rule) => {
    expect(violations.filter((v) => v.rule === rule).map((v) => v.message)).toEqual([]);
  });

  it('every core module with runtime code has a unit test that imports it directly', () => {
    const tested = valueImportsUnder(files, 'test/unit/');
    const untested = [...files]
      .filter(([path, src]) => /^scripts\/core\/[^/]+\.ts$/.test(path) && hasRuntimeExports(src) && !tested.has(path))
      .map(([path]) => path);
    expect(untested).toEqual([]);
  });
});

/** No function in scripts/ is over 100 lines: each reads top to bottom in one screen. */
const MAX_FUNCTION_LINES = 100;

describe('function length', () => {
  it('measures functions, methods and arrows, nested ones by path, from their first line to their last', () => {
    const body = (n: number) => Array.from({ length: n }, (_, i) => `  step(${i});`).join('\n');
    const src = [
      'export async function outer(a: string): Promise<{ ok: boolean }> {', // 1
      '  const inner = async (x: number): Promise<void> => {', // 2
      body(3), // 3-5
      '  };', // 6
      '  items.forEach((i) => {', // 7
      '    use(i);', // 8
      '  });', // 9
      '  return { ok: true };', // 10
      '}', // 11
      'class C {', // 12
      '  method(): (line: string) => string {', // 13
      '    return (l) => l;', // 14
      '  }', // 15
      '}', // 16
      'const s = "function fake() {";', // 17: a string, not a function
    ].join('\n');
    expect(functionsOf(src).map((f) => `${f.line} ${f.lines} ${f.name}`)).toEqual([
      '1 11 outer',
      '2 5 outer > inner',
      '7 3 outer > forEach callback',
      '13 3 method',
      '14 1 method > (arrow)',
    ]);
    const files = tree({ 'scripts/a.ts': `function big() {\n${body(101)}\n}\nconst small = () => 1;\n` });
    expect([...longFunctions(files, 100)]).toEqual([['scripts/a.ts big', 103]]);
  });

  it(`no function in scripts/ is over ${MAX_FUNCTION_LINES} lines`, () => {
    const long = longFunctions(readSources('scripts'), MAX_FUNCTION_LINES);
    expect(
      [...long].map(([name, lines]) => `${name}: ${lines}`),
      'split these functions',
    ).toEqual([]);
  });
});

describe('one reader, one desired state', () => {
  it('bites: a hand-built Desired, a REPLICATE filter and a git blob reader outside their modules', () => {
    const files = tree({
      'scripts/app/qa.ts': [
        "import { catFiles } from '../engine/git.js';",
        "const envs = inv.environments.filter((e) => e.mode === 'REPLICATE');",
        'const desired = { condaVersion, envs } as Desired;',
        'const d: DesiredEnv = { name };',
      ].join('\n'),
      'scripts/core/desired.ts': 'return env as DesiredEnv;',
    });
    const reader = '(a second reader of commits: use repo/snapshot.ts)';
    const filter = '(a second REPLICATE filter: use replicatedEnvs)';
    const builder = '(a second builder of the desired state: call desiredState)';
    expect(oneDesiredStateViolations(files)).toEqual([
      `scripts/app/qa.ts:1: import { catFiles } from '../engine/git.js'; ${reader}`,
      `scripts/app/qa.ts:2: const envs = inv.environments.filter((e) => e.mode === 'REPLICATE'); ${filter}`,
      `scripts/app/qa.ts:3: const desired = { condaVersion, envs } as Desired; ${builder}`,
      `scripts/app/qa.ts:4: const d: DesiredEnv = { name }; ${builder}`,
    ]);
  });

  it('the real tree has one builder, one filter and one commit reader', () => {
    expect(oneDesiredStateViolations(readSources('scripts'))).toEqual([]);
  });
});

/**
 * Every process a pull request can make run goes through one contained launch path: engine/process.ts runProgram,
 * with a bubblewrap sandbox (docs/security.md, "The contained launch path"). Every other place that starts a
 * process is listed here with the reason it may.
 */
const PROCESS_STARTS: Record<string, string> = {
  'scripts/engine/conda.ts runProgram':
    'the conda adapter: every conda and pip call of a build carries the build sandbox (engine/build.ts)',
  'scripts/engine/envtest.ts execute': "every check and test script of an env runs in the test's sandbox",
  'scripts/engine/git.ts runProgram': "git reads the pull request's commits: it runs none of their code",
  'scripts/engine/sandbox.ts runProgram': 'the bubblewrap probe, itself run in a test sandbox',
  'scripts/app/install-conda.ts installConda':
    "the installer of [conda] installer, from the base branch's inventory: not sandboxed yet (docs/security.md)",
  'scripts/sandbox.ts zx': 'the `npm run sandbox` demo: a developer script that drives the CLI, not part of it',
};

describe('the contained launch path', () => {
  it('bites: a use case spawning a shell, or calling runProgram itself, is named with file and line', () => {
    const files = tree({
      'scripts/engine/process.ts': "import { spawnSync } from 'node:child_process';\nexport function runProgram() {}\n",
      'scripts/app/evil.ts': "import { join } from 'node:path';\nimport { exec } from 'node:child_process';\n",
      'scripts/engine/fetch.ts': "import { runProgram, type RunOptions } from './process.js';\n",
      'scripts/engine/git.ts': "import { runProgram } from './process.js';\n",
    });
    expect(unlistedProcessStarts(files, { 'scripts/engine/git.ts runProgram': 'reads commits' })).toEqual([
      'scripts/app/evil.ts:2: starts processes through node:child_process outside the contained launch path ' +
        '(engine/process.ts runProgram with a sandbox): run it there, or list it with the reason it may not',
      'scripts/engine/fetch.ts:1: starts processes through runProgram outside the contained launch path ' +
        '(engine/process.ts runProgram with a sandbox): run it there, or list it with the reason it may not',
    ]);
    expect(unlistedProcessStarts(tree({}), { 'scripts/engine/gone.ts runProgram': 'x' })).toEqual([
      'scripts/engine/gone.ts runProgram: listed as starting processes, but no source does any more: remove the entry',
    ]);
  });

  it('every place that starts a process outside it is listed with a reason', () => {
    expect(unlistedProcessStarts(readSources('scripts'), PROCESS_STARTS)).toEqual([]);
  });
});

describe('product text', () => {
  // users have docs/, not the internal design document: help, messages, generated files and docs point there
  it('no source, doc, schema or workflow cites a design section', () => {
    const texts = [
      ...readSources('scripts'),
      ...['README.md', ...readdirSync(join(ROOT, 'docs')).map((f) => `docs/${f}`)].map(
        (f) => [f, readFileSync(join(ROOT, f), 'utf8')] as const,
      ),
      ...readdirSync(join(ROOT, 'schemas')).map(
        (f) => [`schemas/${f}`, readFileSync(join(ROOT, 'schemas', f), 'utf8')] as const,
      ),
      ...readdirSync(join(ROOT, '.github', 'workflows')).map(
        (f) => [`.github/workflows/${f}`, readFileSync(join(ROOT, '.github', 'workflows', f), 'utf8')] as const,
      ),
    ];
    const citing = texts.flatMap(([file, text]) =>
      text
        .split('\n')
        .flatMap((line, i) =>
          /design (doc(ument)? )?sections? \d/i.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [],
        ),
    );
    expect(citing).toEqual([]);
  });
});

/**
 * Test names say the behaviour they cover: a number from our issue tracker ("issue 10, finding 4") tells the next
 * maintainer nothing.
 */

describe('test names', () => {
  it('bites: a describe, an it.each and a test named through a constant with a tracker number', () => {
    const files = tree({
      'test/e2e/a.test.ts': [
        "describe('deploy only forward (issue 9, finding 5)', () => {",
        "  it.each([1, 2])('item 3: case %s', (n) => {});",
        "  const NAME = 'Finding 10: a bomb stays bounded ' + 'in the summary';",
        '  test.skipIf(skip)(NAME, async () => {});',
        "  test('a bomb stays bounded', () => {}); // finding 2: a comment is not a name",
        "  it('stays quiet about issues in general', () => {});",
        '});',
      ].join('\n'),
      'scripts/core/x.ts': "describe('issue 1', () => {});",
    });
    expect(trackerNumbersInTestNames(files)).toEqual([
      'test/e2e/a.test.ts:1: deploy only forward (issue 9, finding 5)',
      'test/e2e/a.test.ts:2: item 3: case %s',
      'test/e2e/a.test.ts:3: Finding 10: a bomb stays bounded ',
    ]);
  });

  it('no test under test/ is named after an issue, finding or item number', () => {
    expect(trackerNumbersInTestNames(readSources('test')), 'name the test for the behaviour it covers').toEqual([]);
  });
});
