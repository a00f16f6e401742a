// SmtpTransport against real SMTP servers on 127.0.0.1: TLS modes with a private CA, the non-secure
// fallback, the backup server, authentication, reply classification and the attempt deadline.
import { freePort } from '../../infra/local/emulators';
import type { SmtpServerConfig } from '../../shared/config/schema';
import { DeliveryError } from '../../shared/errors';
import type { OutgoingMessage } from '../../shared/mime/compose';
import { buildMail } from '../../shared/mime/compose';
import { type SmtpServer, SmtpTransport } from '../../shared/transport/smtp-transport';
import type { SendReceipt, ServerTry } from '../../shared/transport/transport';
import { attemptEntry } from '../../shared/lifecycle/history';
import { makePrivateCa, type PrivateCa } from '../support/tls';
import { type Relay, startRelay, startSilentServer } from '../support/smtp-relay';

const clock = { now: () => new Date() };
let ca: PrivateCa;
let otherCa: PrivateCa;
const relays: Relay[] = [];

const message = async (to = 'patron@example.org'): Promise<OutgoingMessage> => ({
  noticeId: 'N1',
  messageId: '<N1@library.example.org>',
  from: 'Library <notices@library.example.org>',
  envelope: { from: 'circulation@library.example.org', to: [to] },
  raw: await buildMail({ from: 'notices@library.example.org', to, subject: 'Overdue', text: 'Please return it.', messageId: '<N1@library.example.org>' }),
});

const server = (port: number, config: Partial<SmtpServerConfig> = {}, auth?: SmtpServer['auth']): SmtpServer => ({
  config: { host: '127.0.0.1', port, tls: 'none', allowNonSecure: false, ...config } as SmtpServerConfig,
  auth,
});

const transport = (...servers: SmtpServer[]) => new SmtpTransport({ servers, clientName: 'library.example.org', clock, connectSeconds: 1 });

const relay = async (...args: Parameters<typeof startRelay>) => {
  const started = await startRelay(...args);
  relays.push(started);
  return started;
};

const sendAndCatch = async (smtp: SmtpTransport, deadlineMs = 5000, tries?: ServerTry[]) => {
  try {
    return await smtp.send(await message(), { deadline: new Date(Date.now() + deadlineMs), tries });
  } catch (error) {
    if (error instanceof DeliveryError) return error;
    throw error;
  } finally {
    await smtp.close();
  }
};

beforeAll(async () => {
  ca = makePrivateCa();
  otherCa = makePrivateCa('Somebody Else CA');
});

afterAll(async () => {
  await Promise.all(relays.map((r) => r.stop()));
});

describe('Class: SmtpTransport', () => {
  it('delivers to a plain relay, with the envelope it was given', async () => {
    // Prepare
    const plain = await relay();
    // Act
    const receipt = await sendAndCatch(transport(server(plain.port)));
    // Assess
    expect(receipt).toMatchObject({ transport: 'smtp', server: `127.0.0.1:${plain.port}`, messageId: '<N1@library.example.org>', response: expect.stringMatching(/^250 /), responseCode: 250 });
    expect(plain.received[0]?.envelope).toEqual({ from: 'circulation@library.example.org', to: ['patron@example.org'] });
  });

  it('reuses one connection for the messages of a batch', async () => {
    // Prepare
    const plain = await relay();
    const smtp = transport(server(plain.port));
    // Act
    for (let i = 0; i < 3; i++) await smtp.send(await message(`p${i}@example.org`), { deadline: new Date(Date.now() + 5000) });
    await smtp.close();
    // Assess
    expect(plain.received).toHaveLength(3);
    expect(plain.connections).toBe(1);
  });

  it('ends the session with QUIT when the transport closes, so the relay logs no lost connection', async () => {
    // Prepare
    const plain = await relay();
    const smtp = transport(server(plain.port));
    // Act
    await smtp.send(await message(), { deadline: new Date(Date.now() + 5000) });
    await smtp.close();
    // Assess
    expect(plain.count('QUIT')).toBe(1);
    expect(plain.commands.at(-1)).toBe('QUIT');
  });

  it('sends a report with the null envelope sender, MAIL FROM:<>', async () => {
    // Prepare
    const plain = await relay();
    const report = { ...(await message('circulation@library.example.org')), envelope: { from: '', to: ['circulation@library.example.org'] } };
    const smtp = transport(server(plain.port));
    // Act
    await smtp.send(report, { deadline: new Date(Date.now() + 5000) });
    await smtp.close();
    // Assess
    expect(plain.commands).toContain('MAIL FROM:<>');
    expect(plain.received[0]?.envelope.from).toBe('');
  });

  it.each([
    [451, '4.3.0 Mailbox busy, try later', 'ERECIPIENTLATER', 'recipient'],
    [421, '4.3.2 System not accepting network messages', 'ETHROTTLED', 'institution'],
    [452, '4.5.3 Too many recipients', 'ETHROTTLED', 'institution'],
    [550, '5.4.5 Daily user sending quota exceeded', 'EQUOTA', 'institution'],
    [554, '5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException', 'EQUOTA', 'institution'],
    [554, '5.7.1 Relay access denied', 'ERELAYDENIED', 'institution'],
    [550, '5.1.1 The email account that you tried to reach does not exist', 'ERECIPIENT', 'recipient'],
    [553, '5.1.3 Invalid recipient address syntax', 'ERECIPIENT', 'recipient'],
  ])('classifies %i %s at RCPT TO as %s', async (code, text, outcome, scope) => {
    // Prepare
    const refusing = await relay({ onRcptTo: () => ({ code, message: text }) });
    // Act
    const error = await sendAndCatch(transport(server(refusing.port)));
    // Assess
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error).toMatchObject({ scope, facts: { code: outcome, responseCode: code, enhancedStatus: text.split(' ')[0], server: `127.0.0.1:${refusing.port}` } });
  });

  it('classifies a 5xx after DATA (rejected content) as a permanent refusal of the message', async () => {
    const refusing = await relay({ onData: () => ({ code: 554, message: '5.6.0 Message content rejected' }) });
    expect(await sendAndCatch(transport(server(refusing.port)))).toMatchObject({ verdict: 'permanent', scope: 'message', facts: { code: 'EMESSAGE', responseCode: 554 } });
  });

  it('resets the session after a refused recipient and sends the next message over the same connection', async () => {
    // Prepare
    const picky = await relay({ onRcptTo: (address) => (address === 'unknown@example.org' ? { code: 550, message: '5.1.1 User unknown' } : undefined) });
    const smtp = transport(server(picky.port));
    // Act
    const refused = await smtp.send(await message('unknown@example.org'), { deadline: new Date(Date.now() + 5000) }).catch((error: unknown) => error);
    const receipt = await smtp.send(await message('patron@example.org'), { deadline: new Date(Date.now() + 5000) });
    await smtp.close();
    // Assess
    expect(refused).toMatchObject({ facts: { code: 'ERECIPIENT' } });
    expect(receipt).toMatchObject({ transport: 'smtp' });
    expect(picky.connections).toBe(1);
    expect(picky.count('RSET')).toBe(1);
  });

  it('logs in, and shows a refused login as an authentication failure, transient', async () => {
    // Prepare
    const guarded = await relay({ auth: { user: 'relay', pass: 'right' } });
    // Act
    const good = await sendAndCatch(transport(server(guarded.port, {}, async () => ({ user: 'relay', pass: 'right' }))));
    const bad = await sendAndCatch(transport(server(guarded.port, {}, async () => ({ user: 'relay', pass: 'wrong' }))));
    // Assess
    expect(good).toMatchObject({ transport: 'smtp' });
    expect(guarded.received[0]?.user).toBe('relay');
    expect(bad).toMatchObject({ verdict: 'transient', scope: 'institution', facts: { code: 'EAUTH', responseCode: 535 } });
    // One login for the attempt, and the session ended politely after the refusal.
    expect(guarded.count('AUTH')).toBe(2);
    expect(guarded.count('QUIT')).toBe(2);
  });

  it('keeps a password the relay quotes back out of its refusal', async () => {
    // Prepare
    const careless = await relay({ auth: { user: 'relay', pass: 'right' }, quoteRefusedLogin: true });
    const tries: ServerTry[] = [];
    // Act
    const refused = await sendAndCatch(transport(server(careless.port, {}, async () => ({ user: 'relay', pass: 'wrong-password' }))), 5000, tries);
    // Assess
    expect(refused).toMatchObject({ facts: { code: 'EAUTH', responseCode: 535 } });
    expect(JSON.stringify({ refused, message: (refused as Error).message, tries })).not.toContain('wrong-password');
    expect(tries[0]?.reply).toBe('535 5.7.8 Authentication credentials invalid for relay/[redacted]');
  });

  it('keeps a password the relay quotes back out of its acceptance', async () => {
    // Prepare
    const careless = await relay({ auth: { user: 'relay', pass: 'right-password' }, quoteAcceptedLogin: true });
    const tries: ServerTry[] = [];
    // Act
    const receipt = await sendAndCatch(transport(server(careless.port, {}, async () => ({ user: 'relay', pass: 'right-password' }))), 5000, tries);
    // Assess
    expect(receipt).toMatchObject({ transport: 'smtp', response: expect.stringMatching(/^250 2\.0\.0 Ok: queued as 1, authenticated as relay\/\[redacted\]$/) });
    expect(JSON.stringify({ receipt, tries })).not.toContain('right-password');
    expect(tries[0]?.reply).toBe((receipt as { response: string }).response);
  });

  it('tries the backup in the same attempt when the primary refuses connections', async () => {
    // Prepare
    const closedPort = await freePort();
    const backup = await relay();
    const tries: ServerTry[] = [];
    // Act
    const receipt = await sendAndCatch(transport(server(closedPort), server(backup.port)), 5000, tries);
    // Assess
    expect(receipt).toMatchObject({ server: `127.0.0.1:${backup.port}` });
    expect(tries.map((t) => [t.server, t.ok])).toEqual([
      [`127.0.0.1:${closedPort}`, false],
      [`127.0.0.1:${backup.port}`, true],
    ]);
  });

  it('tries the backup when the primary accepts the connection but never greets', async () => {
    // Prepare
    const silent = await startSilentServer();
    const backup = await relay();
    // Act
    const receipt = await sendAndCatch(transport(server(silent.port), server(backup.port)));
    await silent.stop();
    // Assess
    expect(receipt).toMatchObject({ server: `127.0.0.1:${backup.port}` });
  });

  it('does not try the backup when the primary answered with a refusal', async () => {
    // Prepare
    const refusing = await relay({ onRcptTo: () => ({ code: 451, message: '4.7.1 Greylisted' }) });
    const backup = await relay();
    // Act
    const error = await sendAndCatch(transport(server(refusing.port), server(backup.port)));
    // Assess
    expect(error).toMatchObject({ verdict: 'transient', facts: { responseCode: 451 } });
    expect(backup.connections).toBe(0);
  });

  it('gives up at the deadline when a relay stalls, well before the lease would end', async () => {
    // Prepare: the relay would confirm the message only after 30 s, far past the attempt's 3 s deadline,
    // so a failure at DATA is the deadline cutting the conversation, however busy the machine
    const slow = await relay({ dataDelayMs: 30_000 });
    // Act
    const error = await sendAndCatch(transport(server(slow.port)), 3000);
    // Assess
    expect(error).toMatchObject({ verdict: 'transient', scope: 'message', facts: { code: 'EUNCONFIRMED', command: 'DATA' } });
    // It had the whole message: the history says a retry may bring a second copy.
    expect((error as Error).message).toMatch(/took the message's data, before it confirmed it: the message may have arrived$/);
    expect(slow.received).toHaveLength(0);
  });

  describe('TLS', () => {
    it('never sends to a relay without STARTTLS when STARTTLS is required', async () => {
      // Prepare
      const noTls = await relay({ starttls: false });
      // Act
      const error = await sendAndCatch(transport(server(noTls.port, { tls: 'starttls' })));
      // Assess
      expect(error).toMatchObject({ verdict: 'transient', scope: 'institution', facts: { code: 'ETLS' } });
      expect((error as Error).message).toMatch(/does not offer STARTTLS/);
      expect(noTls.received).toHaveLength(0);
      // The relay never offered STARTTLS, so it was never sent; the session ended with QUIT.
      expect(noTls.count('STARTTLS')).toBe(0);
      expect(noTls.count('QUIT')).toBe(1);
    });

    it('falls back to plain with allowNonSecure when the relay offers no STARTTLS', async () => {
      // Prepare
      const noTls = await relay({ starttls: false });
      const tries: ServerTry[] = [];
      // Act
      const receipt = await sendAndCatch(transport(server(noTls.port, { tls: 'starttls', allowNonSecure: true })), 5000, tries);
      // Assess
      expect(receipt).toMatchObject({ transport: 'smtp' });
      expect(noTls.received[0]?.secure).toBe(false);
      expect(tries.map((t) => t.server)).toEqual([`127.0.0.1:${noTls.port} (TLS)`, `127.0.0.1:${noTls.port} (plain)`]);
      // The history says the message went in plain, and why.
      expect((receipt as { response: string }).response).toMatch(/^\(sent without TLS under allowNonSecure: .*does not offer STARTTLS.*\) 250 /);
      expect(noTls.count('STARTTLS')).toBe(0);
    });

    it('keeps the note that a message went in plain when the relay answers at length', async () => {
      // Prepare: a relay whose 250 reply is longer than a history entry keeps
      const noTls = await relay({ starttls: false, acceptedWords: `(${'accepted for delivery by a very talkative relay '.repeat(8).trim()})` });
      // Act
      const receipt = (await sendAndCatch(transport(server(noTls.port, { tls: 'starttls', allowNonSecure: true })))) as SendReceipt;
      const entry = attemptEntry({ ok: true, ...receipt, startedAt: new Date() }, 'sent', new Date());
      // Assess
      expect(receipt.response!.length).toBeGreaterThan(300);
      expect(entry.message).toMatch(/^\(sent without TLS under allowNonSecure: .*does not offer STARTTLS.*\) 250 2\.0\.0 Ok: queued as 1 .*…$/);
      expect(entry).toMatchObject({ responseCode: 250, enhancedStatus: '2.0.0' });
    });

    it('delivers over STARTTLS to a relay whose certificate a private CA signed, given that CA', async () => {
      // Prepare
      const starttls = await relay({ tls: ca.issueServerCertificate() });
      // Act
      const receipt = await sendAndCatch(transport(server(starttls.port, { tls: 'starttls', ca: ca.cert })));
      // Assess
      expect(receipt).toMatchObject({ transport: 'smtp' });
      expect(starttls.received[0]?.secure).toBe(true);
    });

    it('never sends over STARTTLS when the certificate does not verify', async () => {
      // Prepare
      const starttls = await relay({ tls: ca.issueServerCertificate() });
      // Act
      const withoutCa = await sendAndCatch(transport(server(starttls.port, { tls: 'starttls' })));
      const wrongCa = await sendAndCatch(transport(server(starttls.port, { tls: 'starttls', ca: otherCa.cert })));
      // Assess
      expect(withoutCa).toMatchObject({ verdict: 'transient', facts: { code: 'ETLS' } });
      expect(wrongCa).toMatchObject({ verdict: 'transient', facts: { code: 'ETLS' } });
      expect(starttls.received).toHaveLength(0);
    });

    it('delivers over implicit TLS given the private CA, and never without it', async () => {
      // Prepare
      const implicit = await relay({ secure: true, tls: ca.issueServerCertificate() });
      // Act
      const withoutCa = await sendAndCatch(transport(server(implicit.port, { tls: 'implicit' })));
      const receipt = await sendAndCatch(transport(server(implicit.port, { tls: 'implicit', ca: ca.cert })));
      // Assess
      expect(withoutCa).toMatchObject({ verdict: 'transient', facts: { code: 'ETLS' } });
      expect(receipt).toMatchObject({ transport: 'smtp' });
      expect(implicit.received).toHaveLength(1);
      expect(implicit.received[0]?.secure).toBe(true);
    });

    it('never falls back to plain when TLS was made but the relay refused the message', async () => {
      // Prepare
      const starttls = await relay({ tls: ca.issueServerCertificate(), onRcptTo: () => ({ code: 550, message: '5.1.1 No such user' }) });
      // Act
      const error = await sendAndCatch(transport(server(starttls.port, { tls: 'starttls', ca: ca.cert, allowNonSecure: true })));
      // Assess
      expect(error).toMatchObject({ verdict: 'permanent' });
      expect(starttls.connections).toBe(1);
    });
  });
});
