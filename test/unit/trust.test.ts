/**
 * The trust rule as a table: every [conda] key of inventory.ini is classified once (core/trust.ts). A key a pull
 * request may change is named in docs/security.md; a key it may not change has no effect on the inventory its QA
 * runs with. A key added to the schema without a decision fails here.
 */
import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { CONDA_KEY_TRUST, SECTION_TRUST, ignoredHeadKeys, trustedInventory } from '../../scripts/core/trust.js';
import { parseInventory } from '../../scripts/core/inventory.js';

const schema = JSON.parse(readFileSync('schemas/inventory.schema.json', 'utf8'));
const security = readFileSync('docs/security.md', 'utf8');

/** keys of the schema with no row in the trust table: what a new key without a decision looks like */
const undecided = (s: typeof schema) => ({
  conda: Object.keys(s.properties.conda.properties).filter((k) => !(k in CONDA_KEY_TRUST)),
  sections: Object.keys(s.properties).filter((k) => k !== 'conda' && !(k in SECTION_TRUST)),
});

const BASE = [
  '[conda]',
  'version = 23.11.0',
  'channels = conda-forge',
  'installer = https://repo.example/Miniconda3-{version}-Linux-x86_64.sh',
  '',
  '[environments]',
  'a = REPLICATE',
  '',
].join('\n');

/** a head inventory setting one [conda] key to a value of the right shape */
const VALUES: Record<string, string> = {
  root: '/srv/elsewhere',
  version: '24.1.2',
  frontend: 'micromamba',
  installer: './evil-installer.sh',
  'installer-sha256': 'a'.repeat(64),
  'custom-channels': 'conda-forge=file:///home/runner/evil',
  'channel-alias': 'https://evil.example',
  'default-channels': 'https://evil.example/main',
  'pkgs-dirs': '/tmp/evil-pkgs',
  'envs-dirs': '/tmp/evil-envs',
  solver: 'libmamba',
  channels: 'conda-forge, https://evil.example/chan',
  'pip-git-hosts': 'evil.example',
  'pip-indexes': 'https://evil.example/simple',
  'unsandboxed-tests': 'allow',
  'pass-env': 'SLACK_WEBHOOK_URL',
  'allow-failures': 'a',
};

const parse = (text: string) => {
  const r = parseInventory(text);
  expect(r.problems.filter((p) => p.severity === 'error')).toEqual([]);
  return r.inventory!;
};
const withKey = (key: string, value: string) => BASE.replace('[environments]', `${key} = ${value}\n\n[environments]`);
const setKey = (key: string, value: string) =>
  BASE.includes(`\n${key} = `)
    ? BASE.replace(new RegExp(`\\n${key} = [^\\n]*`), `\n${key} = ${value}`)
    : withKey(key, value).replace('\n\n\n', '\n\n');

describe('the trust table', () => {
  test('every inventory key and section has a decision', () => {
    expect(undecided(schema)).toEqual({ conda: [], sections: [] });
  });

  test('bites: a key added to the schema without a decision is named', () => {
    const grown = structuredClone(schema);
    grown.properties.conda.properties['post-install'] = { type: 'string' };
    grown.properties.hooks = { type: 'object' };
    expect(undecided(grown)).toEqual({ conda: ['post-install'], sections: ['hooks'] });
  });

  test.each(Object.keys(CONDA_KEY_TRUST))('%s: decided, and the decision holds', (key) => {
    const row = CONDA_KEY_TRUST[key]!;
    expect(VALUES[key], `a test value for ${key}`).toBeDefined();
    const base = parse(BASE);
    const head = parse(setKey(key, VALUES[key]!));
    expect(head.conda[row.field]).not.toEqual(base.conda[row.field]); // the PR did change it
    const trusted = trustedInventory(base, head);
    if (row.trust === 'head') {
      // allowed by design: QA uses the PR's value, and docs/security.md says so
      expect(trusted.conda[row.field]).toEqual(head.conda[row.field]);
      expect(security).toContain(`\`${key}\``);
      expect(ignoredHeadKeys(base, head)).toEqual([]);
    } else {
      // no effect on QA: the inventory it runs with is the base's for this key
      expect(trusted.conda[row.field]).toEqual(base.conda[row.field]);
      expect(trusted).toEqual(
        trustedInventory(base, { ...head, conda: { ...head.conda, [row.field]: base.conda[row.field] } }),
      );
      if (row.trust === 'base') expect(ignoredHeadKeys(base, head)).toEqual([key]);
    }
  });

  test('without a base inventory (the first pull request) no configuration of the head is trusted', () => {
    const head = parse(
      setKey('pass-env', 'SLACK_WEBHOOK_URL').replace('[environments]', 'unsandboxed-tests = allow\n\n[environments]'),
    );
    const trusted = trustedInventory('no-base', head);
    expect(trusted.conda.passEnv).toBeUndefined();
    expect(trusted.conda.unsandboxedTests).toBeUndefined();
    expect(trusted.conda.installer).toBeUndefined();
    expect(trusted.conda.version).toBe('23.11.0');
  });

  test('a trusted run (no base) uses the inventory as it is', () => {
    const head = parse(setKey('installer', './local.sh'));
    expect(trustedInventory(undefined, head)).toBe(head);
  });
});
