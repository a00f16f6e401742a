import { apiFunctions } from '../../../infra/local/api-gateway';
import { makeIntakeHandler } from '../../../lambdas/intake/intake-handler';
import { isTransportPath, makeTransportHandler } from '../../../lambdas/transport/transport-handler';
import { deliveryFailure } from '../../../shared/transport/classify';
import { fakeDeps } from '../../support/fake-deps';
import { apiEvent } from '../../support/factories';

let fakes: ReturnType<typeof fakeDeps>;
let handler: ReturnType<typeof makeTransportHandler>;
const body = (result: { body: string }) => JSON.parse(result.body);

beforeEach(() => {
  fakes = fakeDeps();
  handler = makeTransportHandler(fakes.deps);
});

describe('Handler: transport, the Test Server', () => {
  it('refuses a request without a key, and sends nothing', async () => {
    // Act
    const status = await handler(apiEvent({ method: 'GET', path: '/v1/transport', key: null }));
    const test = await handler(apiEvent({ method: 'POST', path: '/v1/transport/test', body: {}, key: null }));
    // Assess
    expect([status.statusCode, test.statusCode]).toEqual([401, 401]);
    expect(body(test).error.code).toBe('unauthorized');
    expect(fakes.transports.sent).toEqual([]);
    expect(fakes.keyRates.timesCalled('count')).toBe(0);
  });

  it('refuses a test to an address that is not one, and neither sends nor records anything', async () => {
    // Act
    const result = await handler(apiEvent({ method: 'POST', path: '/v1/transport/test', body: { to: 'not an address' } }));
    // Assess
    expect(result.statusCode).toBe(400);
    expect(body(result).error).toMatchObject({ code: 'validation_failed', details: [expect.objectContaining({ path: 'to' })] });
    expect(fakes.transports.sent).toEqual([]);
    expect(fakes.transportState.timesCalled('write')).toBe(0);
  });

  it('shows the transport without a secret, and answers HEAD, OPTIONS and a wrong method as the intake does', async () => {
    // Act
    const status = await handler(apiEvent({ method: 'GET', path: '/v1/transport' }));
    const options = await handler(apiEvent({ method: 'OPTIONS', path: '/v1/transport/test', key: null }));
    const wrongMethod = await handler(apiEvent({ method: 'GET', path: '/v1/transport/test' }));
    const head = await handler(apiEvent({ method: 'HEAD', path: '/v1/transport' }));
    // Assess
    expect(status.statusCode).toBe(200);
    expect(body(status)).toMatchObject({ kind: expect.any(String) });
    expect(status.body).not.toMatch(/pass|secret|privateKey/i);
    expect(options).toMatchObject({ statusCode: 204, headers: { allow: 'POST, OPTIONS' } });
    expect(wrongMethod.statusCode).toBe(405);
    expect(head).toMatchObject({ statusCode: 200, body: '', headers: { 'content-length': String(Buffer.byteLength(status.body)) } });
  });
});

describe('Handler: transport, a paused institution', () => {
  const pause = { since: '2030-01-01T00:00:00.000Z', code: 'EAUTH', reply: '535 5.7.8 Authentication credentials invalid', server: '127.0.0.1:2525', nextProbeAt: '2030-01-01T00:12:00.000Z', backoffSeconds: 360, probes: 2 };

  it('shows why and since when sending is paused, and when the next probe goes', async () => {
    // Prepare
    fakes.transportState.seed('demo', { pause, firstUnsentAt: pause.since, lastAuthFailure: { at: pause.since, server: pause.server, code: 'EAUTH', message: pause.reply } });
    // Act
    const status = body(await handler(apiEvent({ method: 'GET', path: '/v1/transport' })));
    // Assess
    expect(status).toMatchObject({
      state: 'paused',
      paused: { since: pause.since, code: 'EAUTH', scope: 'institution', summary: 'the relay refused the login', reply: pause.reply, server: pause.server, nextProbeAt: pause.nextProbeAt, probes: 2 },
      lastAuthFailure: { code: 'EAUTH', recoveredAt: null },
      stalledSince: null,
    });
  });

  it('resumes sending at once when the Test Server gets its message through the first server', async () => {
    // Prepare
    fakes.transportState.seed('demo', { pause, firstUnsentAt: pause.since, lastAuthFailure: { at: pause.since, server: pause.server, code: 'EAUTH', message: pause.reply } });
    // Act
    const tested = await handler(apiEvent({ method: 'POST', path: '/v1/transport/test', body: {} }));
    const status = body(await handler(apiEvent({ method: 'GET', path: '/v1/transport' })));
    // Assess
    expect(tested.statusCode).toBe(200);
    expect(fakes.transports.sent).toHaveLength(1);
    expect(status).toMatchObject({ state: 'sending', paused: null, lastAuthFailure: { code: 'EAUTH', recoveredAt: '2030-01-01T00:00:00.000Z' } });
    expect(fakes.transportState.peek('demo').firstUnsentAt).toBeUndefined();
  });

  it('leaves the pause as it is when the Test Server is refused too', async () => {
    // Prepare
    fakes.transportState.seed('demo', { pause });
    fakes.transports.refuseWith(deliveryFailure('EAUTH', '535 5.7.8 Authentication credentials invalid', { transport: 'smtp', server: '127.0.0.1:2525', responseCode: 535 }));
    // Act
    await handler(apiEvent({ method: 'POST', path: '/v1/transport/test', body: {} }));
    // Assess
    expect(fakes.transportState.peek('demo')).toMatchObject({ pause, lastTestResult: { ok: false } });
  });
});

describe('Routing: the API paths between its two functions', () => {
  it('sends /v1/transport and what is under it to the transport function, every other path to the intake', async () => {
    // Prepare
    const api = apiFunctions(fakes.deps);
    // Act
    const transport = await api(apiEvent({ method: 'GET', path: '/v1/transport' }));
    const lookalike = await api(apiEvent({ method: 'GET', path: '/v1/transports' }));
    const intakeAlone = await makeIntakeHandler(fakes.deps)(apiEvent({ method: 'GET', path: '/v1/transport' }));
    // Assess
    expect(transport.statusCode).toBe(200);
    expect(lookalike.statusCode).toBe(404);
    // The intake has no Test Server: on AWS it never sees these paths, and could not send if it did.
    expect(intakeAlone.statusCode).toBe(404);
    expect(['/v1/transport', '/v1/transport/', '/v1/transport/test'].map(isTransportPath)).toEqual([true, true, true]);
    expect(['/v1/transports', '/v1/notices', '/', '/v1'].map(isTransportPath)).toEqual([false, false, false, false]);
  });
});
