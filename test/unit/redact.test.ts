import { describe, expect, test } from 'vitest';
import {
  MASK,
  makeRedactor,
  redact,
  registerSecrets,
  registeredSecrets,
  secretForms,
} from '../../scripts/core/redact.js';

const TOKEN = 'ghs_0123456789abcdefghijABCDEFGHIJ';

describe('makeRedactor', () => {
  const r = makeRedactor([TOKEN, 'hunter2hunter2', 'short']);
  test('masks every value and its git basic-auth form', () => {
    const header = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');
    expect(r(`token=${TOKEN} pw=hunter2hunter2`)).toBe(`token=${MASK} pw=${MASK}`);
    expect(r(`extraheader = AUTH ${header}`)).toBe(`extraheader = AUTH ${MASK}`);
  });
  test('values shorter than 6 characters are not masked (they would mask ordinary words)', () => {
    expect(r('a short line')).toBe('a short line');
    expect(secretForms('abc')).toEqual([]);
  });
  test('credential shapes are masked whatever their source', () => {
    const other = makeRedactor([]);
    expect(other('use ghp_abcdefghijklmnopqrstuvwxyz0123 now')).toBe(`use ${MASK} now`);
    expect(other('AUTHORIZATION: basic eC1hY2Nlc3MtdG9rZW46abc=')).toBe(`AUTHORIZATION: basic ${MASK}`);
    expect(other('pip from https://user:s3cr3t@pypi.example/simple')).toBe(
      `pip from https://user:${MASK}@pypi.example/simple`,
    );
  });
  test('text without secrets is unchanged (JSON stays JSON)', () => {
    const json = JSON.stringify({ a: 'numpy=1.26', b: ['https://conda.anaconda.org/conda-forge'] }, null, 2);
    expect(r(json)).toBe(json);
    expect(JSON.parse(r(JSON.stringify({ t: TOKEN })))).toEqual({ t: MASK });
  });
});

test('registerSecrets: the process-wide redactor masks what was registered', () => {
  expect(redact(`x ${TOKEN}`)).toBe(`x ${MASK}`); // a shape, even before registering
  registerSecrets(['correct-horse-battery', 'tiny']);
  expect(registeredSecrets()).toEqual(['correct-horse-battery']);
  expect(redact('pw correct-horse-battery!')).toBe(`pw ${MASK}!`);
});
