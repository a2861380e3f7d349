import { describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { VARIABLES_SCRIPT, variableScripts, variablesNeedScripts } from '../../scripts/core/activation.js';

const sh = (script: string, env: Record<string, string> = {}) =>
  execFileSync('sh', ['-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });

describe('variables as activation scripts (conda < 4.9)', () => {
  test('which versions need them: conda before 4.9, micromamba before 2.2, mamba always', () => {
    expect(variablesNeedScripts('4.3.22', 'conda')).toBe(true);
    expect(variablesNeedScripts('4.8.5', 'mamba')).toBe(true);
    expect(variablesNeedScripts('4.9.0', 'conda')).toBe(false);
    expect(variablesNeedScripts('23.11.0', 'conda')).toBe(false);
    // libmamba parses `variables:` from 2.2.0 (mamba-org/mamba libmamba/src/api/install.cpp:289)
    expect(variablesNeedScripts('2.1.0', 'micromamba')).toBe(true);
    expect(variablesNeedScripts('1.5.8', 'micromamba')).toBe(true);
    expect(variablesNeedScripts('2.2.0', 'micromamba')).toBe(false);
    // mamba's own version is not in the inventory and 2.0-2.1 drop them
    expect(variablesNeedScripts('24.1.2', 'mamba')).toBe(true);
    expect(VARIABLES_SCRIPT).toBe('conda-gitops-variables.sh');
  });

  test('values are never expanded by the shell; deactivation restores an earlier value or unsets', () => {
    const { activate, deactivate } = variableScripts({ A: "it's $(id) `x` $HOME", B: 'two' });
    const show = 'printf "%s|%s|" "${A-unset}" "${B-unset}"';
    expect(sh(`${activate}\n${show}`)).toBe("it's $(id) `x` $HOME|two|");
    expect(sh(`${activate}\n${deactivate}\n${show}`, { B: 'before' })).toBe('unset|before|');
  });

  test('a name that is not a shell identifier is refused (the spec parser rejects it earlier)', () => {
    expect(() => variableScripts({ 'A;rm': 'x' })).toThrow(/invalid variable name/);
  });
});
