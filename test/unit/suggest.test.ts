import { describe, expect, test } from 'vitest';
import { closest, didYouMean } from '../../scripts/core/suggest.js';

describe('did you mean', () => {
  test('a typo finds the known word; an unrelated word finds none', () => {
    expect(closest('chanels', ['name', 'channels', 'dependencies'])).toBe('channels');
    expect(closest('Dependancies', ['name', 'channels', 'dependencies'])).toBe('dependencies');
    expect(didYouMean('pipp', ['pip'])).toBe(": did you mean 'pip'?");
    expect(didYouMean('build', ['name', 'channels', 'dependencies'])).toBe('');
  });
});
