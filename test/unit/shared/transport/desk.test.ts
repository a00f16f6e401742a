import { generateKeyPairSync } from 'node:crypto';
import { parseConfig } from '../../../../shared/config/load';
import { describeTransport } from '../../../../shared/transport/desk';
import { aConfigInput } from '../../../support/factories';

describe('Function: describeTransport', () => {
  it('shows how each server is reached and never a password, token or key', () => {
    // Prepare
    const privateKey = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const input = aConfigInput();
    input.institutions[0] = {
      ...input.institutions[0]!,
      transport: {
        kind: 'smtp',
        maxPerMinute: 30,
        servers: [
          { host: 'smtp.office365.com', port: 587, tls: 'starttls', auth: { type: 'oauth2', provider: 'microsoft', user: 'notices@library.example.org', clientId: 'app-id', clientSecret: 'client-secret-value', refreshToken: 'refresh-token-value' } },
          { host: 'relay.library.example.org', port: 25, tls: 'starttls', allowNonSecure: true, ca: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----', auth: { user: 'relay', pass: 'password-value' } },
        ],
        dkim: { selector: 'notices', privateKey },
      },
    };
    const institution = parseConfig(input).institutions[0]!;
    // Act
    const status = describeTransport(
      institution,
      { lastAuthFailure: { at: '2030-01-01T00:00:00.000Z', server: 'smtp.office365.com:587', code: 'EAUTH', message: '535 5.7.3 Authentication unsuccessful' } },
    );
    // Assess
    expect(status).toEqual({
      kind: 'smtp',
      from: 'Demo Public Library <notices@library.example.org>',
      servers: [
        { host: 'smtp.office365.com', port: 587, tls: 'starttls', allowNonSecure: false, privateCa: false, auth: 'oauth2', user: 'notices@library.example.org', oauth2Provider: 'microsoft' },
        { host: 'relay.library.example.org', port: 25, tls: 'starttls', allowNonSecure: true, privateCa: true, auth: 'password', user: 'relay' },
      ],
      dkim: { selector: 'notices', domain: 'library.example.org' },
      maxPerMinute: 30,
      maxPerDay: null,
      lastTestedAt: null,
      lastTestResult: null,
      lastAuthFailure: { at: '2030-01-01T00:00:00.000Z', server: 'smtp.office365.com:587', code: 'EAUTH', message: '535 5.7.3 Authentication unsuccessful', recoveredAt: null },
      state: 'sending',
      paused: null,
      stalledSince: null,
      pausedUntil: null,
      pauseReason: null,
    });
    expect(JSON.stringify(status)).not.toMatch(/secret-value|token-value|password-value|PRIVATE KEY|MIIB/);
  });

  it('shows a paused institution: since when, the reply that caused it, and the next probe', () => {
    // Prepare
    const institution = parseConfig(aConfigInput()).institutions[0]!;
    const pause = { since: '2030-01-01T00:00:00.000Z', code: 'EAUTH', reply: '535 5.7.8 Authentication credentials invalid', server: 'relay.library.example.org:587', nextProbeAt: '2030-01-01T00:12:00.000Z', backoffSeconds: 360, probes: 2 };
    // Act
    const status = describeTransport(institution, { pause, stall: { since: '2030-01-01T00:00:00.000Z', noticedAt: '2030-01-01T00:30:00.000Z' } });
    // Assess
    expect(status).toMatchObject({
      state: 'paused',
      paused: { since: pause.since, code: 'EAUTH', scope: 'institution', summary: 'the relay refused the login', reply: pause.reply, server: pause.server, nextProbeAt: pause.nextProbeAt, probes: 2 },
      stalledSince: '2030-01-01T00:00:00.000Z',
      pausedUntil: pause.nextProbeAt,
      pauseReason: 'EAUTH from relay.library.example.org:587',
    });
    expect(describeTransport(institution, {})).toMatchObject({ state: 'sending', paused: null, stalledSince: null, pausedUntil: null });
  });
});
