import { describe, expect, test } from 'vitest';
import { asOneArgument, condaAddsPip, pipLinesAreArguments } from '../../scripts/core/conda-pip.js';

describe("how each conda runs an env file's pip: section (real conda 4.3.22 / 4.6.10, table probes)", () => {
  test('conda adds pip for a pip: section from 4.6.9 only', () => {
    expect(condaAddsPip('4.3.22')).toBe(false);
    expect(condaAddsPip('4.6.8')).toBe(false);
    expect(condaAddsPip('4.6.9')).toBe(true);
    expect(condaAddsPip('25.11.1')).toBe(true);
  });

  test('4.3 passes each pip line as one argument; an option and its value become one token', () => {
    expect(pipLinesAreArguments('4.3.31')).toBe(true);
    expect(pipLinesAreArguments('4.4.0')).toBe(false);
    expect(asOneArgument('-r /abs/req.txt')).toBe('-r/abs/req.txt');
    expect(asOneArgument('--editable   /abs/pkg')).toBe('--editable=/abs/pkg');
    expect(asOneArgument('tidyup >= 0.4')).toBe('tidyup >= 0.4');
    expect(asOneArgument('--requirement=/abs/req.txt')).toBe('--requirement=/abs/req.txt');
  });
});
