import { credentialForms, redactSecrets, webhookSecretFor } from '../../../shared/secrets';
import { parseSecret } from '../../../shared/secrets-manager';

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

describe('Function: webhookSecretFor', () => {
  const ILS = { url: 'https://ils.library.example.org/events' };
  const CRM = { url: 'https://crm.library.example.org/hooks' };
  const secretOf = (hooks: Array<{ url: string }>, hook: { url: string; secret?: string }, secret: string) => webhookSecretFor({ webhooks: hooks as never }, hook, parseSecret(secret));

  it("finds each receiver's secret by its URL, wherever it stands in either list", () => {
    // Prepare: the secret lists them the other way round, and a receiver removed since
    const secret = JSON.stringify({ webhooks: [{ url: CRM.url, secret: 'crm-secret' }, { url: 'https://gone.example.org/x', secret: 'gone-secret' }, { url: ILS.url, secret: 'ils-secret' }] });
    // Act & Assess
    expect([secretOf([ILS, CRM], ILS, secret), secretOf([ILS, CRM], CRM, secret), secretOf([CRM], CRM, secret)]).toEqual([{ secret: 'ils-secret' }, { secret: 'crm-secret' }, { secret: 'crm-secret' }]);
  });

  it("takes the configuration's own secret first (npm start), and says when there is none", () => {
    // Act & Assess
    expect(secretOf([ILS], { ...ILS, secret: 'from-the-file' }, JSON.stringify({ webhooks: [{ url: ILS.url, secret: 'x' }] }))).toEqual({ secret: 'from-the-file' });
    expect(secretOf([ILS], ILS, '{}')).toEqual({ missing: 'no-secret' });
    expect(secretOf([ILS], ILS, JSON.stringify({ webhooks: [{ url: ILS.url, secret: '' }] }))).toEqual({ missing: 'no-secret' });
    expect(secretOf([ILS, CRM], CRM, JSON.stringify({ webhooks: [{ url: ILS.url, secret: 'ils-secret' }] }))).toEqual({ missing: 'no-secret' });
  });

  it('takes a secret of the older form, by position, only where it can be no one else’s: one receiver, one entry', () => {
    // Prepare
    const one = JSON.stringify({ webhooks: [{ secret: 'the-only-secret' }] });
    const two = JSON.stringify({ webhooks: [{ secret: 'first-secret' }, { secret: 'second-secret' }] });
    // Act & Assess
    expect(secretOf([ILS], ILS, one)).toEqual({ secret: 'the-only-secret' });
    // A receiver removed from two: which secret was its cannot be told.
    expect(secretOf([CRM], CRM, two)).toEqual({ missing: 'secret-by-position' });
    expect(secretOf([ILS, CRM], ILS, two)).toEqual({ missing: 'secret-by-position' });
    expect(secretOf([ILS, CRM], CRM, one)).toEqual({ missing: 'secret-by-position' });
  });
});
