/**
 * GitHub Actions workflow commands and job-summary text for problems in the files a user wrote (specs, the
 * inventory) and for failed envs: `::error file=F,line=L,col=C,title=T::message` / `::warning …`, escaped as
 * the Actions toolkit escapes them (data: `%`, CR, LF; properties also `:` and `,`). Pure: engine/github.ts
 * writes what this renders.
 */
import type { Problem } from './errors.js';

export type AnnotationLevel = 'error' | 'warning' | 'notice';

export interface WorkflowAnnotation {
  level: AnnotationLevel;
  message: string;
  title?: string;
  /** relative to GITHUB_WORKSPACE */
  file?: string;
  line?: number;
  col?: number;
}

/** The message part of a workflow command. */
export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A property value (file, title) of a workflow command. */
export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** One workflow command line: `::error file=…,line=…,col=…,title=…::message`. */
export function annotationCommand(a: WorkflowAnnotation): string {
  const props: string[] = [];
  if (a.file) props.push(`file=${escapeProperty(a.file)}`);
  if (a.file && a.line && a.line > 0) props.push(`line=${a.line}`);
  if (a.file && a.line && a.col && a.col > 0) props.push(`col=${a.col}`);
  if (a.title) props.push(`title=${escapeProperty(a.title)}`);
  return `::${a.level}${props.length ? ' ' + props.join(',') : ''}::${escapeData(a.message)}`;
}

/** The env a spec path names (`env-specs/NAME.yml`, `…/NAME.test.sh`), if any. */
export function envOfFile(file: string): string | undefined {
  const m = /(?:^|\/)env-specs\/([^/]+?)(?:\.test)?\.(?:yml|yaml|sh|py)$/.exec(file);
  return m?.[1];
}

/**
 * Problems as annotations. `toPath` maps a repository-relative file to the workspace-relative path GitHub
 * resolves; `command` names the step in the title (`conda-gitops validate: ml`).
 */
export function problemAnnotations(
  problems: readonly Problem[],
  command: string,
  toPath: (file: string) => string = (f) => f,
): WorkflowAnnotation[] {
  return problems.map((p) => {
    const env = envOfFile(p.file);
    return {
      level: p.severity === 'warning' ? 'warning' : 'error',
      message: p.message,
      title: `conda-gitops ${command}${env ? `: ${env}` : ''}`,
      file: toPath(p.file),
      ...(p.line > 0 ? { line: p.line } : {}),
    };
  });
}

/** A markdown table cell: pipes escaped, one line. */
function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/**
 * The job summary of a run stopped by problems in the repository's files: what to do first, then one row per
 * problem (errors before warnings).
 */
export function problemSummary(
  problems: readonly Problem[],
  command: string,
  toPath: (file: string) => string = (f) => f,
): string {
  const errors = problems.filter((p) => p.severity === 'error');
  const warnings = problems.filter((p) => p.severity !== 'error');
  const head =
    errors.length > 0
      ? `## conda-gitops ${command}: ${errors.length} error${errors.length === 1 ? '' : 's'} in the repository`
      : `## conda-gitops ${command}: ${warnings.length} warning${warnings.length === 1 ? '' : 's'}`;
  const files = [...new Set(errors.map((p) => p.file))];
  const lines = [head, ''];
  if (errors.length) {
    for (const f of files) {
      const at = errors
        .filter((p) => p.file === f)
        .map((p) => p.line)
        .join(', ');
      lines.push(`To fix: edit \`${toPath(f)}\` (line ${at}) as the table says.`);
    }
    lines.push(
      '',
      'Then run `conda-gitops validate` in your checkout: it prints the same problems; push when it passes.',
      '',
    );
  }
  lines.push('| Severity | File | Line | Problem |', '| --- | --- | ---: | --- |');
  for (const p of [...errors, ...warnings]) {
    lines.push(`| ${p.severity} | \`${cell(toPath(p.file))}\` | ${p.line > 0 ? p.line : ''} | ${cell(p.message)} |`);
  }
  return lines.join('\n') + '\n';
}
