/** classify: triage a conda/pip log (a file or stdin) into a failure class, details and a hint. */
import { readFile } from 'node:fs/promises';
import type { Context } from '../app/context.js';
import { UsageError } from '../core/errors.js';
import { OK, type Outcome } from '../core/outcome.js';
import { classify, hintFor, showsFailure } from '../core/classify.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function run(ctx: Context): Promise<Outcome> {
  const file = ctx.positionals[0] ?? '-';
  let text: string;
  if (file === '-') {
    // reading a terminal would just wait: say what is expected instead
    if (process.stdin.isTTY)
      throw new UsageError('no log given: pass FILE, or pipe a log into `conda-gitops classify -`');
    text = await readStdin();
  } else {
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new UsageError(
        `cannot read log file '${file}': ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
      );
    }
  }
  if (!showsFailure(text)) {
    const message = `no failure found in ${file === '-' ? 'the log' : file}: no error line and no known failure`;
    // JSON like a classified log (the help promises JSON): {failure: false, message}
    const result = { file: file === '-' ? null : file, failure: false, message };
    if (ctx.out.json) ctx.out.result(result);
    else ctx.out.info(JSON.stringify(result, null, 2));
    return OK;
  }
  const c = classify(text);
  const result = { file: file === '-' ? null : file, ...c, hint: hintFor(c) };
  // always JSON: admins pipe it into jq when triaging old logs
  if (ctx.out.json) ctx.out.result(result);
  else ctx.out.info(JSON.stringify(result, null, 2));
  return OK;
}
