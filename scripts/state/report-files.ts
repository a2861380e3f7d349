/** Writes a run's report files into ROOT/.gitops/runs/<run-id>/ (the executor beside the pure report.ts). */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './fsutil.js';
import { redact } from '../core/redact.js';
import { renderJunit, renderSummary, reportSchemaErrors, type Report } from '../core/report.js';

export interface ReportPaths {
  runDir: string;
  report: string;
  summary: string;
  junit: string;
  logs: string;
}

/**
 * Check the report against schemas/report.schema.json, then write report.json, summary.md and junit.xml.
 * A report that fails its own schema is a bug in this tool: it is refused rather than published.
 */
export function writeReportFiles(runDir: string, report: Report): ReportPaths {
  const errors = reportSchemaErrors(report);
  if (errors.length) throw new Error(`report.json does not match its schema (a bug):\n  ${errors.join('\n  ')}`);
  const paths: ReportPaths = {
    runDir,
    report: join(runDir, report.files.report),
    summary: join(runDir, report.files.summary),
    junit: join(runDir, report.files.junit),
    logs: join(runDir, report.files.logs),
  };
  mkdirSync(paths.logs, { recursive: true });
  // every text passes the redactor: a test's output in an excerpt must not carry a secret into the report
  writeFileAtomic(paths.report, redact(JSON.stringify(report, null, 2) + '\n'));
  writeFileAtomic(paths.summary, redact(renderSummary(report)));
  writeFileAtomic(paths.junit, redact(renderJunit(report)));
  return paths;
}
