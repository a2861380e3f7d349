/**
 * The redactor: every text conda-gitops writes (logs, report.json, summary.md, junit.xml, annotations, the job
 * summary, its own stdout/stderr) passes through `redact`, which masks the values of the secret-looking
 * variables the CLI found in its environment at startup, the forms git and GitHub carry them in (the
 * `AUTHORIZATION: basic base64(x-access-token:TOKEN)` header actions/checkout writes), and anything shaped like
 * a GitHub token or an HTTP auth header. Defence in depth: children never get these values in the first place.
 * Pure (the registered values are module state set once by the CLI entry).
 */

export const MASK = '***';
/** Shorter values would mask ordinary words ("true", "1234"). */
export const MIN_SECRET_LENGTH = 6;

/** The forms a secret value shows up in: itself, and git's basic-auth header of it (base64). */
export function secretForms(value: string): string[] {
  if (value.length < MIN_SECRET_LENGTH) return [];
  const forms = new Set([value, value.trim()]);
  for (const user of ['x-access-token', 'x-oauth-basic', 'git']) {
    forms.add(Buffer.from(`${user}:${value}`).toString('base64'));
  }
  forms.add(Buffer.from(value).toString('base64'));
  return [...forms].filter((f) => f.length >= MIN_SECRET_LENGTH);
}

/** Shapes that are credentials whatever variable they came from. */
const SHAPES: RegExp[] = [
  // GitHub tokens: ghp_, gho_, ghu_, ghs_, ghr_ and fine-grained PATs
  /\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b/g,
  // an HTTP auth header as git config and curl -v print it
  /\b(authorization:\s*(?:basic|bearer|token)\s+)[A-Za-z0-9+/=._~-]{8,}/gi,
  // credentials in a URL: scheme://user:password@host
  /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@"']+:)[^\s@/"']{3,}(@)/gi,
];

export type Redactor = (text: string) => string;

/** A redactor for these secret values (each in all its forms), plus the credential shapes. */
export function makeRedactor(values: readonly string[]): Redactor {
  const forms = [...new Set(values.flatMap(secretForms))].sort((a, b) => b.length - a.length);
  return (text: string) => {
    if (!text) return text;
    let out = text;
    for (const f of forms) if (out.includes(f)) out = out.split(f).join(MASK);
    out = out.replace(SHAPES[0]!, MASK);
    out = out.replace(SHAPES[1]!, (_m, head: string) => `${head}${MASK}`);
    out = out.replace(SHAPES[2]!, (_m, head: string, at: string) => `${head}${MASK}${at}`);
    return out;
  };
}

let current: Redactor = makeRedactor([]);
let registered: string[] = [];

/** Register the secret values of this process (the CLI does it once at startup). Adds to earlier ones. */
export function registerSecrets(values: readonly string[]): void {
  registered = [...new Set([...registered, ...values.filter((v) => v.length >= MIN_SECRET_LENGTH)])];
  current = makeRedactor(registered);
}

/** The values registered so far (for @actions/core setSecret). */
export function registeredSecrets(): readonly string[] {
  return registered;
}

/** Mask every registered secret and every credential shape in `text`. */
export function redact(text: string): string {
  return current(text);
}
