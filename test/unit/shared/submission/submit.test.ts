// Who submits: an institution logging in with one of its API keys, as the API takes them.
import { KeyRing } from '../../../../shared/auth';
import { SmtpRefusalError } from '../../../../shared/submission/replies';
import { authenticateSubmitter, networkSubmitter } from '../../../../shared/submission/submit';
import { aConfig, BRANCH_KEY, DEMO_KEY } from '../../../support/factories';

const config = aConfig();
const keyRing = new KeyRing(config.institutions);

describe('Function: authenticateSubmitter', () => {
  it("takes the institution's id as user name and one of its API keys as password", () => {
    const submitter = authenticateSubmitter(keyRing, ' Demo ', DEMO_KEY);
    expect(submitter).toMatchObject({ institution: { id: 'demo' }, via: 'login' });
    expect(submitter.rateKey).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['a wrong key', 'demo', 'not-a-key-0123456789'],
    ["another institution's key", 'demo', BRANCH_KEY],
    ['the key as user name', DEMO_KEY, ''],
  ])('refuses %s with 535 5.7.8', (_, user, password) => {
    let refusal: unknown;
    try {
      authenticateSubmitter(keyRing, user, password);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(SmtpRefusalError);
    expect((refusal as SmtpRefusalError).reply).toMatchObject({ code: 535, status: '5.7.8' });
  });

  it('counts a no-login network against a rate key of its own, never an API key', () => {
    const network = networkSubmitter(config.institutions[1]!);
    expect(network).toMatchObject({ via: 'network', institution: { id: 'branch' } });
    expect(network.rateKey).not.toBe(authenticateSubmitter(keyRing, 'branch', BRANCH_KEY).rateKey);
  });
});
