/**
 * Requirements files (`-r FILE` in a spec's pip section) are part of the spec: read from the same snapshot as the
 * spec (a file directly in env-specs/), every line checked against the allow-lists like a pip line of the spec
 * itself (options included), and their bytes hashed into the build id. Pure.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { Problem } from './errors.js';
import type { EnvSpec, PipEntry } from './types.js';
import type { AllowList } from './allowlist.js';
import { pipSourceProblem } from './allowlist.js';
import { classifyPipEntry } from './pip.js';

const SPECS_DIR = 'env-specs';
const MAX_DEPTH = 5;

/** The path a `-r` line names, relative to the spec's directory. */
export function requirementsTarget(entry: Pick<PipEntry, 'text'>): string {
  return entry.text.replace(/^(-r|--requirement)[\s=]+/, '').trim();
}

/** The env-specs/ file name a `-r` target resolves to, when it is a file directly in env-specs/. */
function specsFileName(target: string): string | undefined {
  const resolved = posix.normalize(posix.join(SPECS_DIR, target));
  const name = resolved.startsWith(`${SPECS_DIR}/`) ? resolved.slice(SPECS_DIR.length + 1) : undefined;
  return name && !name.includes('/') ? name : undefined;
}

export interface RequirementsCheck {
  problems: Problem[];
  /** file name -> sha256 of its bytes, for every requirements file the spec reads (nested ones too) */
  digests: Record<string, string>;
}

/**
 * Read and check every requirements file a spec names: `files` are the env-specs/ files of the same snapshot.
 * Every problem is reported at the spec's `-r` line (so a broken file fails only the envs that read it), and
 * names the file and line at fault: `pip line 'x' in env-specs/req.txt:3: ...`.
 */
export function checkRequirements(spec: EnvSpec, files: Map<string, Uint8Array>, allow: AllowList): RequirementsCheck {
  const problems: Problem[] = [];
  const digests: Record<string, string> = {};
  const visit = (entry: PipEntry, at: (message: string) => void, depth: number) => {
    const target = requirementsTarget(entry);
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return; // a URL: pipSourceProblem already judged it
    const name = specsFileName(target);
    if (!name)
      return at(
        `-r '${target}': a requirements file must be a file directly in ${SPECS_DIR}/ ` +
          '(it is read with the spec, checked against the allow-lists and part of the build id)',
      );
    const bytes = files.get(name);
    if (!bytes) return at(`-r '${target}': ${SPECS_DIR}/${name} not found`);
    if (name in digests) return;
    if (depth > MAX_DEPTH) return at(`-r '${target}': requirements files nested more than ${MAX_DEPTH} deep`);
    digests[name] = createHash('sha256').update(bytes).digest('hex');
    const file = `${SPECS_DIR}/${name}`;
    new TextDecoder()
      .decode(bytes)
      .split(/\r?\n/)
      .forEach((raw, i) => {
        const text = raw.replace(/(^|\s)#.*$/, '').trim();
        if (!text) return;
        const { entry: line, problem } = classifyPipEntry(text, i + 1);
        const why = problem ?? pipSourceProblem(line, allow, file);
        if (why) at(`pip line '${text}' in ${file}:${i + 1}: ${why}`);
        else if (line.kind === 'requirements') visit(line, at, depth + 1);
      });
  };
  for (const p of spec.pip)
    if (p.kind === 'requirements')
      visit(p, (message) => problems.push({ file: spec.file, line: p.line, severity: 'error', message }), 1);
  return { problems, digests };
}
