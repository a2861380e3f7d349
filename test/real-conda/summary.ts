/**
 * The real-conda lane's summary line, printed once per lane run by the project's global setup (its teardown runs
 * after every file of the project): the versions run, the probes compared and their mismatches, the product
 * scenarios. Read from vitest's own results, so it holds under any reporter (`npm test` passes its own).
 */
import type { TestProject } from 'vitest/node';

/** One test of the lane as the summary needs it: the names of its suites, outermost first, and its state. */
export interface LaneTest {
  suites: string[];
  name: string;
  state: 'pass' | 'fail' | 'skip';
}

const order = (a: string, b: string) => {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++)
    if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
};

/**
 * The summary line of a lane run; undefined when nothing ran (the lane skipped, and said so in one line).
 * Probe tests sit in a suite `conda V` and name their probe `(probe: P)`; product scenarios are suites named
 * `… adopt a conda OLD installation, upgrade to NEW`.
 */
export function laneSummary(tests: LaneTest[]): string | undefined {
  const versions = new Set<string>();
  const probes: string[] = [];
  let compared = 0;
  let mismatches = 0;
  const product = new Map<string, { old: string; states: Set<string> }>();
  for (const t of tests) {
    const version = t.suites.map((s) => /^conda (\d+\.\d+\.\d+)$/.exec(s)?.[1]).find(Boolean);
    const probe = /\(probe: ([^)]+)\)/.exec(t.name)?.[1];
    if (version && probe && t.state !== 'skip') {
      versions.add(version);
      if (!probes.includes(probe)) probes.push(probe);
      compared++;
      if (t.state === 'fail') mismatches++;
    }
    const scenario = t.suites.map((s) => /adopt a conda (\S+) installation, upgrade to (\S+)$/.exec(s)).find(Boolean);
    if (scenario) {
      const key = scenario[2]!;
      const s = product.get(key) ?? { old: scenario[1]!, states: new Set<string>() };
      s.states.add(t.state);
      product.set(key, s);
    }
  }
  const scenarios = [...product.entries()].filter(([, s]) => !(s.states.size === 1 && s.states.has('skip')));
  if (!compared && !scenarios.length) return undefined;
  const parts: string[] = [];
  if (compared) {
    const vs = [...versions].sort(order);
    const span = vs.length > 2 ? `${vs[0]} … ${vs.at(-1)}` : vs.join(', ');
    parts.push(
      `${vs.length} version${vs.length === 1 ? '' : 's'} (${span}), probes ${probes.join('/')}: ` +
        `${compared} compared, ${mismatches} mismatch${mismatches === 1 ? '' : 'es'}`,
    );
  }
  if (scenarios.length) {
    const names = scenarios.map(([to, s], i) => (i === 0 ? `${s.old}->${to}` : `->${to}`));
    const states = new Set(scenarios.flatMap(([, s]) => [...s.states]));
    const verdict = states.has('fail') ? 'FAILED' : 'passed';
    parts.push(`product scenario ${names.join(', ')}: ${verdict}`);
  }
  return `real-conda lane: ${parts.join('; ')}`;
}

interface Task {
  type: string;
  name: string;
  mode?: string;
  tasks?: Task[];
  result?: { state?: string };
}

function flatten(task: Task, suites: string[], out: LaneTest[]): void {
  if (task.type === 'test') {
    const s = task.result?.state;
    out.push({ suites, name: task.name, state: s === 'pass' ? 'pass' : s === 'fail' ? 'fail' : 'skip' });
    return;
  }
  const inner = task.type === 'suite' ? [...suites, task.name] : suites;
  for (const t of task.tasks ?? []) flatten(t, inner, out);
}

/** vitest globalSetup of the real-conda project: the teardown prints the summary line. */
export default function setup(project: TestProject): () => void {
  return () => {
    const tests: LaneTest[] = [];
    const files = project.vitest.state.getFiles() as unknown as Array<Task & { projectName?: string }>;
    for (const f of files) if (f.projectName === project.name) flatten(f, [], tests);
    const line = laneSummary(tests);
    if (line) console.log(line);
  };
}
