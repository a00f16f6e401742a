// The webhook verification example of docs/integrator/webhooks.md, run as written against the signatures the relay makes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { signatureHeader } from '../../../shared/webhooks/signature';

type Verify = (secret: string, header: string, rawBody: string, nowSeconds?: number) => boolean;

const readmeVerifier = (): Verify => {
  const readme = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'integrator', 'webhooks.md'), 'utf8');
  const block = /<!-- webhook-verify:start -->\s*```js\n([\s\S]*?)```\s*<!-- webhook-verify:end -->/.exec(readme)?.[1];
  if (!block) throw new Error('docs/integrator/webhooks.md has no webhook verification example');
  // The example as a receiver would paste it, with require() and all.
  return new Function('require', `${block}\nreturn verifyNoticeRelaySignature;`)(require) as Verify;
};

describe('docs/integrator/webhooks.md: verifying a webhook signature', () => {
  const verify = readmeVerifier();
  const body = '{"id":"01JB6Y0S6W7ZQ3C2V4N8M1K5HT","type":"notice.bounced"}';
  const secret = 'a-receiver-secret-0123456789abcdef';

  it('accepts what the relay signs, within five minutes', () => {
    expect(verify(secret, signatureHeader(secret, 1_900_000_000, body), body, 1_900_000_200)).toBe(true);
  });

  it('refuses another secret, a changed body, and a replay older than five minutes', () => {
    const header = signatureHeader(secret, 1_900_000_000, body);
    expect(verify('another-secret-0123456789abcdef', header, body, 1_900_000_000)).toBe(false);
    expect(verify(secret, header, body.replace('bounced', 'sent'), 1_900_000_000)).toBe(false);
    expect(verify(secret, header, body, 1_900_000_301)).toBe(false);
  });
});
