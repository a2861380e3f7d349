import { describe, expect, test } from 'vitest';
import {
  annotationCommand,
  envOfFile,
  escapeData,
  escapeProperty,
  problemAnnotations,
  problemSummary,
} from '../../scripts/core/annotations.js';
import type { Problem } from '../../scripts/core/errors.js';

describe('workflow commands', () => {
  test('data escapes %, CR and LF; properties also : and ,', () => {
    expect(escapeData('50% done\r\nnext: a, b')).toBe('50%25 done%0D%0Anext: a, b');
    expect(escapeProperty('50% done\r\nnext: a, b')).toBe('50%25 done%0D%0Anext%3A a%2C b');
  });

  test('an error with file, line, col and title, in that order', () => {
    expect(
      annotationCommand({ level: 'error', file: 'env-specs/a,b.yml', line: 5, col: 3, title: 'x: y', message: 'm\nn' }),
    ).toBe('::error file=env-specs/a%2Cb.yml,line=5,col=3,title=x%3A y::m%0An');
  });

  test('a warning without a file has no line; a bare message has no properties', () => {
    expect(annotationCommand({ level: 'warning', line: 3, message: 'w' })).toBe('::warning::w');
    expect(annotationCommand({ level: 'error', message: 'QA failed', title: 't' })).toBe('::error title=t::QA failed');
  });

  test('env of a spec or test file', () => {
    expect(envOfFile('env-specs/ml.yml')).toBe('ml');
    expect(envOfFile('repo/env-specs/ml.test.sh')).toBe('ml');
    expect(envOfFile('inventory.ini')).toBeUndefined();
  });
});

describe('problems', () => {
  const problems: Problem[] = [
    { file: 'env-specs/ml.yml', line: 5, message: "bad spec 'a|b'", severity: 'error' },
    { file: 'inventory.ini', line: 0, message: 'odd', severity: 'warning' },
  ];

  test('one annotation per problem, paths through toPath, the env in the title', () => {
    const notes = problemAnnotations(problems, 'validate', (f) => `repo/${f}`).map(annotationCommand);
    expect(notes).toEqual([
      "::error file=repo/env-specs/ml.yml,line=5,title=conda-gitops validate%3A ml::bad spec 'a|b'",
      '::warning file=repo/inventory.ini,title=conda-gitops validate::odd',
    ]);
  });

  test('the summary leads with what to do, then a table with pipes escaped, errors first', () => {
    const md = problemSummary([...problems].reverse(), 'qa', (f) => `repo/${f}`);
    const lines = md.split('\n');
    expect(lines[0]).toBe('## conda-gitops qa: 1 error in the repository');
    expect(lines[2]).toBe('To fix: edit `repo/env-specs/ml.yml` (line 5) as the table says.');
    expect(md).toContain("| error | `repo/env-specs/ml.yml` | 5 | bad spec 'a\\|b' |");
    expect(md.indexOf('| error |')).toBeLessThan(md.indexOf('| warning |'));
  });

  test('warnings only: no "To fix"', () => {
    const md = problemSummary([problems[1]!], 'validate');
    expect(md).toMatch(/^## conda-gitops validate: 1 warning\n/);
    expect(md).not.toContain('To fix');
  });
});
