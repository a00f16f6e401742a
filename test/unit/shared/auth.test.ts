import { KeyRing } from '../../../shared/auth';
import { hashApiKey } from '../../../shared/config/key-digest';
import { UnauthorizedError } from '../../../shared/errors';
import { aConfig, BRANCH_KEY, DEMO_KEY } from '../../support/factories';

describe('Class: KeyRing', () => {
  const config = aConfig();
  config.institutions.push({ ...(config.institutions[1] as (typeof config.institutions)[number]), id: 'hashed', apiKeys: undefined, apiKeyHashes: [hashApiKey('a-key-stored-only-as-a-hash')] });
  const ring = new KeyRing(config.institutions);

  it('finds the institution a key belongs to', () => {
    expect(ring.authenticate(DEMO_KEY).institution.id).toBe('demo');
    expect(ring.authenticate(BRANCH_KEY).institution.id).toBe('branch');
  });

  it('names the key by its SHA-256 digest, never the key', () => {
    expect(ring.authenticate(DEMO_KEY).keyId).toBe(hashApiKey(DEMO_KEY));
  });

  it('accepts a key configured only by its SHA-256 digest', () => {
    expect(ring.authenticate('a-key-stored-only-as-a-hash').institution.id).toBe('hashed');
  });

  it.each([undefined, '', 'wrong-key-0123456789', `${DEMO_KEY} `, DEMO_KEY.toUpperCase()])('refuses %p', (key) => {
    expect(() => ring.authenticate(key)).toThrow(UnauthorizedError);
  });

  it.each([
    ['the key without its last character', DEMO_KEY.slice(0, -1)],
    ['the key with one more character', `${DEMO_KEY}0`],
    ['the first four characters of the key', DEMO_KEY.slice(0, 4)],
    ['the empty string', ''],
    ['the hashed-only key without its last character', 'a-key-stored-only-as-a-has'],
  ])('refuses %s: only the whole key authenticates', (_case, key) => {
    expect(() => ring.authenticate(key)).toThrow(UnauthorizedError);
  });

  it('hashes a key as lower-case hex SHA-256', () => {
    expect(hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
