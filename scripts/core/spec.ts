/**
 * env-specs/NAME.yml: a conda environment file, parsed with the line of every dependency so that
 * errors and CI annotations point at `env-specs/NAME.yml:LINE`. Pure: text in, spec and problems out.
 */
import type { Problem } from './errors.js';
import type { CondaDependency, EnvSpec, PipEntry } from './types.js';
import { lineIndex, parseYamlWithPositions, type PosNode, YamlSyntaxError } from './yamlpos.js';
import { parseDependencyText, MatchSpecError, ignoredBracketText } from './matchspec.js';
import { classifyPipEntry } from './pip.js';
import { didYouMean } from './suggest.js';

export interface ParsedSpec {
  spec?: EnvSpec;
  /** when there are errors: what could be read, so later checks (channels) still report in the same run */
  partial?: EnvSpec;
  problems: Problem[];
}

/** Parse a spec. `checkVersion` (from matchspec.versionSpecChecker) validates version syntax when given. */
export function parseSpec(
  text: string,
  file: string,
  envName: string,
  checkVersion?: (v: string) => string | undefined,
): ParsedSpec {
  const problems: Problem[] = [];
  const err = (line: number, message: string) => problems.push({ file, line, message, severity: 'error' });
  const warn = (line: number, message: string) => problems.push({ file, line, message, severity: 'warning' });
  const lineOf = lineIndex(text);
  let tree: PosNode | undefined;
  try {
    ({ tree } = parseYamlWithPositions(text, file, lineOf));
  } catch (e) {
    if (e instanceof YamlSyntaxError) err(e.line, `invalid YAML: ${e.message}`);
    else throw e;
    return { problems };
  }
  if (!tree) {
    err(1, 'empty environment file (conda: EnvironmentFileEmpty)');
    return { problems };
  }
  if (tree.kind !== 'map') {
    err(lineOf(tree.offset), 'an environment file must be a mapping with name, channels and dependencies');
    return { problems };
  }
  const spec: EnvSpec = { file, name: envName, channels: [], dependencies: [], pip: [], variables: {} };
  let sawDependencies = false;
  for (const { key, keyOffset, value } of tree.pairs) {
    const line = lineOf(keyOffset);
    switch (key) {
      case 'name':
        if (value.kind !== 'scalar') err(line, "'name' must be a string");
        else if (value.text !== envName)
          warn(line, `name '${value.text}' differs from the file name; the env is called '${envName}'`);
        break;
      case 'prefix':
        warn(line, "'prefix:' is ignored: builds go to the installation's builds/ directory");
        break;
      case 'channels':
        {
          const list = stringList(value, 'channels', line, text, lineOf, err);
          spec.channels = list.map((c) => c.text);
          spec.channelLines = list.map((c) => c.line);
        }
        break;
      case 'variables':
        if (value.kind === 'scalar' && value.text === '') break;
        if (value.kind !== 'map') {
          err(line, "'variables' must be a mapping of NAME: value");
          break;
        }
        for (const p of value.pairs) {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(p.key)) err(lineOf(p.keyOffset), `invalid variable name '${p.key}'`);
          else if (p.value.kind !== 'scalar') err(lineOf(p.keyOffset), `variable '${p.key}' must be a plain value`);
          else spec.variables[p.key] = p.value.text;
        }
        break;
      case 'dependencies':
        sawDependencies = true;
        readDependencies(value, line, spec, text, lineOf, err, warn, checkVersion);
        break;
      case 'pip':
        err(
          line,
          "top-level 'pip:' is not read by conda (the packages would be silently dropped): " +
            "move it under dependencies as '- pip:'",
        );
        break;
      default:
        warn(line, `unknown key '${key}' is ignored by conda${didYouMean(key, SPEC_KEYS)}`);
    }
  }
  if (!sawDependencies) err(1, "no 'dependencies' list");
  if (problems.some((p) => p.severity === 'error')) return { problems, partial: spec };
  return { spec, problems };
}

const SPEC_KEYS = ['name', 'channels', 'dependencies', 'variables', 'prefix'];

const LINUX_SELECTORS = new Set(['linux', 'unix', 'linux64', 'linux-64']);

type Report = (line: number, message: string) => void;

/**
 * YAML folds a plain list item and a more-indented `- b` line below it into one string (`- a` + `   - b`
 * is the item `a - b`): a mis-indented item. Reported at the line of the swallowed `- b`, where the
 * mistake is. Other folded lines (a long option wrapped onto the next line) are valid YAML and kept.
 */
function continuationProblem(item: PosNode, text: string, lineOf: (o: number) => number, err: Report): boolean {
  if (item.kind !== 'scalar' || item.quoted) return false;
  const m = /\n[ \t]*-(?=[ \t]|$)/m.exec(text.slice(item.offset, item.end));
  if (!m) return false;
  const line = lineOf(item.offset + m.index + 1);
  err(
    line,
    `this '-' item is indented deeper than the item of line ${lineOf(item.offset)} and was read as part of it: ` +
      'start each item at the same indentation',
  );
  return true;
}

function stringList(
  node: PosNode,
  what: string,
  line: number,
  text: string,
  lineOf: (o: number) => number,
  err: Report,
) {
  if (node.kind === 'scalar' && node.text === '' && !node.quoted) return [];
  if (node.kind !== 'seq') {
    err(line, `'${what}' must be a list`);
    return [];
  }
  const out: Array<{ text: string; line: number }> = [];
  for (const item of node.items) {
    if (item.kind !== 'scalar' || item.text === '')
      err(lineOf(item.offset), `each entry of '${what}' must be a non-empty string`);
    else if (!continuationProblem(item, text, lineOf, err))
      out.push({ text: item.text.trim(), line: lineOf(item.offset) });
  }
  return out;
}

function readDependencies(
  node: PosNode,
  line: number,
  spec: EnvSpec,
  text: string,
  lineOf: (o: number) => number,
  err: Report,
  warn: Report,
  checkVersion?: (v: string) => string | undefined,
) {
  if (node.kind !== 'seq') {
    err(line, "'dependencies' must be a list");
    return;
  }
  const addCondaDependency = (text: string, itemLine: number) => {
    try {
      const dep = parseDependencyText(text);
      const versionError = dep.spec.version && checkVersion ? checkVersion(dep.spec.version) : undefined;
      if (versionError) err(itemLine, versionError);
      else {
        const ignored = ignoredBracketText(dep.text);
        if (ignored.length) {
          warn(
            itemLine,
            `conda ignores '[${ignored.join(',')}]' in '${dep.text}' (only key=value fields count in a conda spec);` +
              " for pip extras use the 'pip:' section",
          );
        }
        spec.dependencies.push({ text: dep.text, spec: dep.spec, line: itemLine } satisfies CondaDependency);
      }
    } catch (e) {
      if (e instanceof MatchSpecError) err(itemLine, `invalid package spec: ${e.message}`);
      else throw e;
    }
  };
  for (const item of node.items) {
    const itemLine = lineOf(item.offset);
    if (item.kind === 'map') {
      for (const p of item.pairs) {
        const selector = /^sel\((\w+)\)$/.exec(p.key);
        if (selector) {
          // mamba's `- sel(linux): pkg` selectors: our servers are linux-64, other platforms' entries are skipped
          if (LINUX_SELECTORS.has(selector[1]!) && p.value.kind === 'scalar')
            addCondaDependency(p.value.text, lineOf(p.keyOffset));
          continue;
        }
        if (p.key !== 'pip') {
          err(
            lineOf(p.keyOffset),
            `unknown dependency section '${p.key}:' (only 'pip:' is allowed)${didYouMean(p.key, ['pip'])}`,
          );
          continue;
        }
        if (spec.pipLine !== undefined) {
          err(lineOf(p.keyOffset), "a second '- pip:' section");
          continue;
        }
        spec.pipLine = lineOf(p.keyOffset);
        for (const entry of stringList(p.value, 'pip', lineOf(p.keyOffset), text, lineOf, err)) {
          const { entry: pip, problem } = classifyPipEntry(entry.text, entry.line);
          if (problem) err(entry.line, problem);
          else spec.pip.push(pip as PipEntry);
        }
      }
      continue;
    }
    if (item.kind !== 'scalar' || item.text.trim() === '') {
      err(itemLine, 'a dependency must be a package spec string or a "pip:" list');
      continue;
    }
    if (continuationProblem(item, text, lineOf, err)) continue;
    if (item.kind === 'scalar' && !item.quoted && /^\d/.test(item.text)) {
      err(itemLine, `'${item.text}' is not a package spec`);
      continue;
    }
    addCondaDependency(item.text, itemLine);
  }
  if (spec.pip.length && !spec.dependencies.some((d) => d.spec.name === 'pip')) {
    warn(
      spec.pipLine ?? line,
      "a 'pip:' section without 'pip' in the conda dependencies (conda >= 4.6.9 adds it; the build, for older)",
    );
  }
}
