import { credentialForms, redactSecrets } from '../../../shared/secrets';

describe('Function: redactSecrets', () => {
  const password = 'correct horse+battery/staple';
  const plainLogin = Buffer.from(`\u0000relay\u0000${password}`).toString('base64');

  it.each([
    ['the value itself', `535 bad login relay/${password}`, '535 bad login relay/[redacted]'],
    ['an AUTH PLAIN payload echoed in base64', `535 5.7.8 rejected ${plainLogin}`, '535 5.7.8 rejected [redacted]'],
    ['a form-encoded copy', `invalid_client: pass=${new URLSearchParams({ v: password }).toString().slice(2)}`, 'invalid_client: pass=[redacted]'],
  ])('takes out %s', (_, text, expected) => {
    expect(redactSecrets(text, credentialForms(password, 'relay'))).toBe(expected);
  });

  it('leaves text without a secret, and values too short to be one, as they are', () => {
    expect(redactSecrets('550 5.1.1 user unknown', [...credentialForms(password, 'relay'), 'un', undefined])).toBe('550 5.1.1 user unknown');
  });
});
