// The SMTP door as an ILS meets it: nodemailer, Python's smtplib and Perl's Email::Sender (what Koha sends
// with) submitting over STARTTLS, implicit TLS and without a login, against the real pipeline (dynalite,
// fauxqs, the sender) and a DKIM-checked relay on 127.0.0.1.
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import { generateKeyPairSync } from 'node:crypto';
import nodemailer from 'nodemailer';
import { freePort } from '../../infra/local/emulators';
import { type SmtpDoor, startSmtpDoor } from '../../infra/smtp-door/listener';
import type { ConfigInput } from '../../shared/config/schema';
import { dkimPublicKeyOf, dkimTxtValue } from '../../shared/dns/records';
import { UnavailableError } from '../../shared/errors';
import { listNotices } from '../../shared/intake/manage-notices';
import type { NoticeStore } from '../../shared/store/notice-store';
import { intakeDepsFor } from '../support/intake-deps';
import { BRANCH_KEY, DEMO_KEY } from '../support/factories';
import { fastConfig, type Pipeline, recordingLog, startPipeline } from '../support/pipeline';
import { type Relay, startRelay } from '../support/smtp-relay';
import { converse, sendWithPerl, sendWithPython } from '../support/smtp-clients';
import { makePrivateCa } from '../support/tls';

const ca = makePrivateCa();
const certificate = ca.issueServerCertificate();
const dkimKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

/** The branch's ILS sends from this machine without a login; 127.0.0.2, also this machine, is another network. */
const BRANCH_NETWORK = '127.0.0.1/32';
const ELSEWHERE = '127.0.0.2';

let relay: Relay;
let pipeline: Pipeline;
let door: SmtpDoor;
const log = recordingLog();

const doorConfig = (relayPort: number, overrides: Partial<ConfigInput> = {}) => {
  const config = fastConfig({ kind: 'smtp', servers: [{ host: '127.0.0.1', port: relayPort, tls: 'none' }], dkim: { selector: 'notices', privateKey: dkimKey } }, overrides);
  config.institutions[1] = { ...config.institutions[1]!, smtpSubmission: { allowFrom: [BRANCH_NETWORK] } };
  return config;
};

beforeAll(async () => {
  relay = await startRelay();
  pipeline = await startPipeline(doorConfig(relay.port), { log });
  door = await startSmtpDoor(pipeline.functions.deps.intake, { host: '127.0.0.1', submissionPort: 0, implicitTlsPort: 0, tls: certificate, name: 'localhost' });
});

afterAll(async () => {
  await door?.stop();
  await pipeline?.stop();
  await relay?.stop();
});

/** nodemailer as an ILS written in JavaScript would use it: STARTTLS required, the CA trusted. */
const nodemailerLogin = (options: { port?: number; secure?: boolean; user?: string; pass?: string } = {}) =>
  nodemailer.createTransport({
    host: '127.0.0.1',
    port: options.port ?? door.submissionPort,
    secure: options.secure ?? false,
    requireTLS: !options.secure,
    tls: { ca: certificate.cert === '' ? undefined : ca.cert, servername: 'localhost' },
    auth: { user: options.user ?? 'demo', pass: options.pass ?? DEMO_KEY },
  });

/** What GET /v1/notices?externalId= lists for the institution. */
const noticesWithExternalId = async (externalId: string, institutionId = 'demo') =>
  (await listNotices(pipeline.deps, pipeline.deps.institutions.get(institutionId)!, { externalId, limit: 50 })).notices;

describe('SMTP door: logging in with an API key', () => {
  it('accepts a message over STARTTLS from nodemailer, which the pipeline sends through the relay as the institution, DKIM-signed', async () => {
    // Prepare
    const transport = nodemailerLogin();
    // Act
    const info = await transport.sendMail({
      from: 'Circulation <circulation@library.example.org>',
      to: 'patron@example.org',
      subject: 'Your hold is ready',
      text: 'Pick it up at the front desk by Friday.',
      headers: { 'X-Notice-Type': 'hold-pickup', 'X-Notice-External-Id': 'hold-5501' },
    });
    transport.close();
    // Assess: the 250 names the notice, stored as the API would store it
    expect(info.response).toMatch(/^250 2\.6\.0 Accepted: 1 notice \([0-9A-Z]{26}\) queued\.$/);
    const [stored] = await noticesWithExternalId('hold-5501');
    expect(stored).toMatchObject({ to: 'patron@example.org', type: 'hold-pickup', externalId: 'hold-5501' });
    await pipeline.waitForStatus(stored!.id, ['sent']);
    const received = relay.received.find((message) => message.parsed.headers.get('x-notice-id') === stored!.id);
    expect(received?.parsed.from?.value).toEqual([{ name: 'Demo Public Library', address: 'notices@library.example.org' }]);
    // What the ILS wrote in From is where the patron's reply goes.
    expect(received?.parsed.replyTo?.value).toEqual([{ name: '', address: 'circulation@library.example.org' }]);
    expect(received?.envelope).toEqual({ from: 'circulation@library.example.org', to: ['patron@example.org'] });
    const txt = dkimTxtValue(dkimPublicKeyOf(dkimKey));
    const verified = await dkimVerify(received!.raw, {
      resolver: async (name: string, type: string) => {
        if (type === 'TXT' && name === 'notices._domainkey.library.example.org') return [[txt]];
        throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
      },
    });
    expect(verified.results[0]).toMatchObject({ signingDomain: 'library.example.org', status: { result: 'pass' } });
  });
});

/** Lets `run` reach its end whatever it throws, and hands back nodemailer's error. */
const failureOf = async (run: () => Promise<unknown>): Promise<{ responseCode?: number; response?: string; command?: string }> => {
  try {
    await run();
  } catch (error) {
    return error as { responseCode?: number; response?: string; command?: string };
  }
  throw new Error('expected the door to refuse');
};

const base64 = (text: string) => Buffer.from(text).toString('base64');

describe('SMTP door: logging in, more clients', () => {
  it('accepts a message over implicit TLS (port 465), its Message-ID the externalId when no header names one', async () => {
    // Prepare
    const transport = nodemailerLogin({ port: door.implicitTlsPort, secure: true });
    // Act
    const info = await transport.sendMail({ from: 'notices@library.example.org', to: 'reader@example.org', subject: 'Overdue: Dune', text: 'Dune was due yesterday.', messageId: '<loan-7001.1@ils.library.example.org>' });
    transport.close();
    // Assess
    expect(info.response).toMatch(/^250 2\.6\.0 Accepted: 1 notice/);
    expect(await noticesWithExternalId('loan-7001.1@ils.library.example.org')).toEqual([expect.objectContaining({ to: 'reader@example.org', status: expect.any(String) })]);
  });

  it('accepts Perl Email::Sender set up as Koha sets it up, over STARTTLS and over SSL', async () => {
    // Act
    const starttls = await sendWithPerl(
      { port: door.submissionPort, tls: 'starttls', ca: ca.cert, user: 'demo', password: DEMO_KEY },
      { from: 'Koha <koha@library.example.org>', to: ['perl-a@example.org'], subject: 'Courtesy notice', text: 'Due in three days.', headers: { 'X-Notice-External-Id': 'koha-starttls', 'X-Notice-Type': 'courtesy' } },
    );
    const ssl = await sendWithPerl(
      { port: door.implicitTlsPort!, tls: 'implicit', ca: ca.cert, user: 'demo', password: DEMO_KEY },
      { from: 'koha@library.example.org', to: ['perl-b@example.org'], subject: 'Courtesy notice', text: 'Due in three days.', headers: { 'X-Notice-External-Id': 'koha-ssl' } },
    );
    // Assess
    expect(starttls).toEqual({ ok: true });
    expect(ssl).toEqual({ ok: true });
    expect(await noticesWithExternalId('koha-starttls')).toEqual([expect.objectContaining({ to: 'perl-a@example.org', type: 'courtesy' })]);
    expect(await noticesWithExternalId('koha-ssl')).toEqual([expect.objectContaining({ to: 'perl-b@example.org' })]);
  });

  it('makes one notice per envelope recipient from Python smtplib over STARTTLS', async () => {
    // Act
    const result = await sendWithPython(
      { port: door.submissionPort, tls: 'starttls', ca: ca.cert, user: 'demo', password: DEMO_KEY },
      { from: 'circulation@library.example.org', to: ['py-1@example.org', 'py-2@example.org', 'py-3@example.org'], subject: 'Fine due', text: 'You owe $2.50.', headers: { 'X-Notice-External-Id': 'fines-run-9' } },
    );
    // Assess
    expect(result).toMatchObject({ ok: true, code: 250, message: expect.stringMatching(/^2\.6\.0 Accepted: 3 notices/) });
    expect((await noticesWithExternalId('fines-run-9')).map((notice) => notice.to).sort()).toEqual(['py-1@example.org', 'py-2@example.org', 'py-3@example.org']);
  });

  it('refuses a wrong key, or the key of another institution, with 535 5.7.8, and closes after three tries with 421 4.7.0', async () => {
    // Prepare
    const conversation = await converse(door.submissionPort);
    await conversation.send('EHLO ils.library.example.org');
    // Act
    const wrong = await conversation.send(`AUTH PLAIN ${base64('\0demo\0not-the-key-0123456789')}`);
    const another = await conversation.send(`AUTH PLAIN ${base64(`\0demo\0${BRANCH_KEY}`)}`);
    const third = await conversation.send(`AUTH PLAIN ${base64('\0demo\0still-not-the-key-0123')}`);
    conversation.close();
    // Assess
    expect(wrong).toBe("535 5.7.8 Authentication credentials invalid: the user name is the institution's id, the password one of its API keys.");
    expect(another).toBe(wrong);
    expect(third).toBe('421 4.7.0 Too many failed logins on this connection; closing it.');
    // The key was never written to a log, wherever the client put it.
    expect(JSON.stringify(log.lines)).not.toContain(BRANCH_KEY);
  });
});

describe('SMTP door: without a login', () => {
  it("takes a message from the branch's own network with no login at all, as the branch's notice", async () => {
    // Act: Python smtplib as Evergreen's reactor talks: plain, no AUTH
    const result = await sendWithPython({ port: door.submissionPort }, { from: 'circ@branch.example.edu', to: ['student@example.edu'], subject: 'Recall', text: 'Please return it by Monday.', headers: { 'X-Notice-External-Id': 'recall-33' } });
    // Assess
    expect(result).toMatchObject({ ok: true, code: 250 });
    expect(await noticesWithExternalId('recall-33', 'branch')).toEqual([expect.objectContaining({ to: 'student@example.edu' })]);
    expect(await noticesWithExternalId('recall-33', 'demo')).toEqual([]);
  });

  it('refuses, at MAIL FROM with 530 5.7.0, a connection without a login from a network no institution lists', async () => {
    // Act
    const result = await sendWithPython({ port: door.submissionPort, source: ELSEWHERE }, { from: 'circ@branch.example.edu', to: ['student@example.edu'], subject: 'Recall', text: 'Please return it.' });
    // Assess
    expect(result).toEqual({
      ok: false,
      step: 'MAIL FROM',
      code: 530,
      message: `5.7.0 Authentication required: log in (AUTH) with the institution's id and one of its API keys, or send from a network in its smtpSubmission.allowFrom (this connection comes from ${ELSEWHERE}).`,
    });
  });

  it('offers AUTH to another machine only after STARTTLS, so an API key never crosses the network in clear', async () => {
    // Prepare: a door that treats this machine as any other
    const strict = await startSmtpDoor(pipeline.functions.deps.intake, { host: '127.0.0.1', submissionPort: 0, implicitTlsPort: 0, tls: certificate, name: 'localhost', loopbackIsLocal: false });
    try {
      const conversation = await converse(strict.submissionPort, { source: ELSEWHERE });
      // Act
      const plain = await conversation.send('EHLO ils.library.example.org');
      const mailInPlain = await conversation.send('MAIL FROM:<circ@library.example.org>');
      await conversation.send('STARTTLS');
      await conversation.startTls(ca.cert);
      const secure = await conversation.send('EHLO ils.library.example.org');
      conversation.close();
      // Assess
      expect(plain).toContain('250-STARTTLS');
      expect(plain).not.toContain('AUTH');
      expect(plain).toContain('250 SIZE 524288');
      expect(mailInPlain).toMatch(/^530 5\.7\.0 Authentication required: start TLS \(STARTTLS\) and log in \(AUTH\)/);
      expect(secure).toContain('250-AUTH PLAIN LOGIN');
      expect(secure).not.toContain('STARTTLS');
    } finally {
      await strict.stop();
    }
  });
});

describe('SMTP door: refusals that say what to fix', () => {
  it('refuses a From outside the institution\'s domain with 550 5.7.1, naming the domain allowed, and stores nothing', async () => {
    // Prepare
    const transport = nodemailerLogin();
    // Act
    const error = await failureOf(() => transport.sendMail({ from: 'library@gmail.com', to: 'patron@example.org', subject: 'Overdue', text: 'Due.', headers: { 'X-Notice-External-Id': 'foreign-from' } }));
    transport.close();
    // Assess
    expect(error).toMatchObject({ responseCode: 550, command: 'DATA' });
    expect(error.response).toBe('550 5.7.1 From <library@gmail.com> is not allowed for demo: use an address @library.example.org (notices are sent as notices@library.example.org).');
    expect(await noticesWithExternalId('foreign-from')).toEqual([]);
  });

  it("refuses a message without a From with 550 5.7.1, asking for one in the institution's domain, and stores nothing", async () => {
    // Prepare: the message as an ILS's own code might write it, with no From line
    const raw = ['To: patron@example.org', 'Subject: Overdue', 'Message-ID: <no-from-1@ils.library.example.org>', '', 'Due.'].join('\r\n');
    const transport = nodemailerLogin();
    // Act
    const error = await failureOf(() => transport.sendMail({ envelope: { from: 'circ@library.example.org', to: ['patron@example.org'] }, raw }));
    transport.close();
    // Assess
    expect(error).toMatchObject({ responseCode: 550, command: 'DATA' });
    expect(error.response).toBe("550 5.7.1 The message has no From: a From in the institution's domain is required for demo, an address @library.example.org (notices are sent as notices@library.example.org).");
    expect(await noticesWithExternalId('no-from-1@ils.library.example.org')).toEqual([]);
  });

  it('refuses an address no notice can go to with 550 5.1.3, at RCPT TO, for that recipient alone', async () => {
    // Prepare
    const conversation = await converse(door.submissionPort);
    await conversation.send('EHLO ils.library.example.org');
    await conversation.send(`AUTH PLAIN ${base64(`\0demo\0${DEMO_KEY}`)}`);
    await conversation.send('MAIL FROM:<circ@library.example.org>');
    // Act
    const bad = await conversation.send('RCPT TO:<patron@localhost>');
    const good = await conversation.send('RCPT TO:<patron@example.org>');
    conversation.close();
    // Assess
    expect(bad).toBe('550 5.1.3 <patron@localhost> is not an address a notice can go to (name@example.org).');
    expect(good).toBe('250 2.1.5 Accepted');
  });

  it('advertises SIZE and refuses a message over it with 552 5.3.4, declared (Python) or not (nodemailer)', async () => {
    // Prepare
    const big = 'x'.repeat(600 * 1024);
    const transport = nodemailerLogin();
    // Act
    const declared = await sendWithPython({ port: door.submissionPort, tls: 'starttls', ca: ca.cert, user: 'demo', password: DEMO_KEY }, { from: 'circ@library.example.org', to: ['patron@example.org'], subject: 'Big', text: big });
    const sent = await failureOf(() => transport.sendMail({ from: 'circ@library.example.org', to: 'patron@example.org', subject: 'Big', text: big, headers: { 'X-Notice-External-Id': 'too-big' } }));
    transport.close();
    // Assess
    expect(declared).toMatchObject({ ok: false, step: 'MAIL FROM', code: 552, message: expect.stringMatching(/^5\.3\.4 /) });
    expect(sent).toMatchObject({ responseCode: 552, response: 'Message too big: the limit is 524288 bytes (SIZE). Nothing was accepted.'.replace(/^/, '552 5.3.4 ') });
    expect(await noticesWithExternalId('too-big')).toEqual([]);
  });

  it('refuses a message whose notice would pass the 256 KiB of a notice with 552 5.3.4, and a bad X-Notice header with 554 5.6.0', async () => {
    // Prepare
    const transport = nodemailerLogin();
    // Act
    const tooBigANotice = await failureOf(() => transport.sendMail({ from: 'circ@library.example.org', to: 'patron@example.org', subject: 'Big', text: 'y'.repeat(300 * 1024) }));
    const badHeader = await failureOf(() => transport.sendMail({ from: 'circ@library.example.org', to: 'patron@example.org', subject: 'Later', text: 'Soon.', headers: { 'X-Notice-Send-At': 'next Tuesday', 'X-Notice-Typo': 'overdue' } }));
    transport.close();
    // Assess
    expect(tooBigANotice.response).toMatch(/^552 5\.3\.4 Message too big for a notice: the message is \d+ bytes; a notice is at most 262144 bytes \(256 KiB\)\. Nothing was accepted\.$/);
    expect(badHeader.response).toMatch(/^554 5\.6\.0 The message cannot become a notice: x-notice-typo is not a header the door reads \(X-Notice-External-Id, X-Notice-Type, X-Notice-Send-At, X-Notice-Expires-At\)/);
  });
});

describe('SMTP door: resending, and a store that does not answer', () => {
  it('creates nothing twice when a client sends a message again after losing the 250: one notice, one email', async () => {
    // Prepare: the message as the ILS's client holds it, to send the same bytes twice
    const raw = [
      'From: circulation@library.example.org',
      'To: resend@example.org',
      'Subject: Overdue: Emma',
      'Message-ID: <resend-1@ils.library.example.org>',
      'Date: Mon, 01 Mar 2027 08:00:00 +0000',
      '',
      'Emma was due on 1 March.',
    ].join('\r\n');
    const conversation = await converse(door.submissionPort);
    await conversation.send('EHLO ils.library.example.org');
    await conversation.send(`AUTH PLAIN ${base64(`\0demo\0${DEMO_KEY}`)}`);
    await conversation.send('MAIL FROM:<circulation@library.example.org>');
    await conversation.send('RCPT TO:<resend@example.org>');
    await conversation.send('DATA');
    // Act: the client hangs up before the 250 reaches it, then sends again
    conversation.write(`${raw}\r\n.\r\n`);
    conversation.close();
    const first = await pipeline.waitFor(async () => (await noticesWithExternalId('resend-1@ils.library.example.org'))[0], 10_000, 'the first copy to be stored');
    const transport = nodemailerLogin();
    const again = await transport.sendMail({ envelope: { from: 'circulation@library.example.org', to: ['resend@example.org'] }, raw });
    transport.close();
    // Assess
    expect(again.response).toBe(`250 2.6.0 Already accepted: 1 notice (${first.id}); nothing new was created.`);
    await pipeline.waitForStatus(first.id, ['sent']);
    expect(await noticesWithExternalId('resend-1@ils.library.example.org')).toHaveLength(1);
    expect(relay.received.filter((message) => message.envelope.to.includes('resend@example.org'))).toHaveLength(1);
  });

  it('creates only the notices not created yet when a message is sent again to other recipients among the first: one notice, one email each', async () => {
    // Prepare: an ILS that sends a message to two patrons, loses the 250, then sends it again with its list changed
    const message = (to: string[]) => ({ from: 'circ@library.example.org', to, subject: 'Library closed Monday', text: 'The library is closed on Monday.', headers: { 'Message-ID': '<closing-1@ils.library.example.org>' } });
    const login = { port: door.submissionPort, user: 'demo', password: DEMO_KEY };
    // Act
    const first = await sendWithPython(login, message(['overlap-1@example.org', 'overlap-2@example.org']));
    const overlapping = await sendWithPython(login, message(['overlap-2@example.org', 'overlap-3@example.org']));
    const everyone = await sendWithPython(login, message(['overlap-3@example.org', 'overlap-1@example.org', 'overlap-2@example.org']));
    // Assess: one notice per recipient in the store, one email per recipient at the relay
    const stored = await noticesWithExternalId('closing-1@ils.library.example.org');
    expect(stored.map((notice) => notice.to).sort()).toEqual(['overlap-1@example.org', 'overlap-2@example.org', 'overlap-3@example.org']);
    const idOf = (to: string) => stored.find((notice) => notice.to === to)!.id;
    expect(first).toMatchObject({ ok: true, message: expect.stringMatching(/^2\.6\.0 Accepted: 2 notices/) });
    expect(overlapping).toMatchObject({ ok: true, message: `2.6.0 Accepted: 1 notice (${idOf('overlap-3@example.org')}) queued; already accepted: 1 notice (${idOf('overlap-2@example.org')}).` });
    expect(everyone).toMatchObject({ ok: true, message: expect.stringMatching(/^2\.6\.0 Already accepted: 3 notices \(.*\); nothing new was created\.$/) });
    for (const notice of stored) await pipeline.waitForStatus(notice.id, ['sent']);
    for (const to of ['overlap-1@example.org', 'overlap-2@example.org', 'overlap-3@example.org']) {
      expect(relay.received.filter((received) => received.envelope.to.includes(to))).toHaveLength(1);
    }
  });

  it('answers 451 4.3.0 and keeps none of a message to two recipients when the store fails part-way; sent again, both are accepted', async () => {
    // Prepare: a store that writes the first notice of a message, then fails
    const store = pipeline.deps.store;
    const failing: NoticeStore = Object.assign(Object.create(store) as NoticeStore, {
      createNotices: async (records: Parameters<NoticeStore['createNotices']>[0]) => {
        await store.createNotices(records.slice(0, 1));
        throw new UnavailableError('the store left 2 writes unprocessed after 8 tries');
      },
    });
    const faulty = await startSmtpDoor({ ...pipeline.functions.deps.intake, store: failing }, { host: '127.0.0.1', submissionPort: 0, implicitTlsPort: 0, tls: certificate, name: 'localhost' });
    const message = { from: 'circ@library.example.org', to: ['pair-1@example.org', 'pair-2@example.org'], subject: 'Hold expiring', text: 'Your hold expires tomorrow.', headers: { 'Message-ID': '<pair-1@ils.library.example.org>' } };
    try {
      // Act
      const refused = await sendWithPython({ port: faulty.submissionPort, user: 'demo', password: DEMO_KEY }, message);
      const storedAfterRefusal = await noticesWithExternalId('pair-1@ils.library.example.org');
      const accepted = await sendWithPython({ port: door.submissionPort, user: 'demo', password: DEMO_KEY }, message);
      // Assess
      expect(refused).toMatchObject({ ok: false, step: 'DATA', code: 451, message: expect.stringMatching(/^4\.3\.0 /) });
      expect(storedAfterRefusal).toEqual([]);
      expect(accepted).toMatchObject({ ok: true, message: expect.stringMatching(/^2\.6\.0 Accepted: 2 notices/) });
      expect((await noticesWithExternalId('pair-1@ils.library.example.org')).map((notice) => notice.to).sort()).toEqual(['pair-1@example.org', 'pair-2@example.org']);
    } finally {
      await faulty.stop();
    }
  });

  it('answers 451 4.3.0 when the store does not answer at all, and 451 4.7.1 then 421 4.7.0 to a client over its key\'s rate', async () => {
    // Prepare: a door whose DynamoDB is a port nothing listens on; another allowed 2 messages a minute
    const deadPort = await freePort();
    const downLog = recordingLog();
    const unreachable = intakeDepsFor({ config: pipeline.deps.config, endpoints: { dynamodb: `http://127.0.0.1:${deadPort}`, sqs: pipeline.queue.url }, queueUrl: pipeline.queue.queueUrl, log: downLog });
    const down = await startSmtpDoor(unreachable, { host: '127.0.0.1', submissionPort: 0, implicitTlsPort: 0, tls: certificate, name: 'localhost' });
    const fixedMinute = { now: () => new Date('2030-06-01T12:00:30Z') };
    const config = { ...pipeline.deps.config, intake: { ...pipeline.deps.config.intake, requestsPerMinutePerKey: 2 } };
    const limited = await startSmtpDoor({ ...pipeline.functions.deps.intake, config, clock: fixedMinute }, { host: '127.0.0.1', submissionPort: 0, implicitTlsPort: 0, tls: certificate, name: 'localhost' });
    try {
      // Act
      const unanswered = await sendWithPython({ port: down.submissionPort, user: 'demo', password: DEMO_KEY }, { from: 'circ@library.example.org', to: ['patron@example.org'], subject: 'Overdue', text: 'Due.' });
      const conversation = await converse(limited.submissionPort);
      await conversation.send('EHLO ils.library.example.org');
      await conversation.send(`AUTH PLAIN ${base64(`\0branch\0${BRANCH_KEY}`)}`);
      const replies: string[] = [];
      for (let i = 0; i < 5; i++) {
        replies.push(await conversation.send('MAIL FROM:<circ@branch.example.edu>'));
        await conversation.send('RSET');
      }
      const afterClosing = await conversation.send('NOOP');
      conversation.close();
      // Assess
      expect(unanswered).toMatchObject({ ok: false, step: 'MAIL FROM', code: 451, message: expect.stringMatching(/^4\.3\.0 /) });
      // The store not answering is the door's fault: an ERROR, which the SmtpDoorErrors alarm counts, with the
      // error's code (ECONNREFUSED on Lambda's Node; jest's sandbox hands the SDK an error it wraps, code lost)
      // and no address. Over its rate is the client's: a WARN.
      expect(downLog.lines).toContainEqual({
        level: 'error',
        message: 'smtp message refused',
        attributes: { institution: 'demo', via: 'login', code: 451, reason: 'unavailable', errorCode: expect.stringMatching(/^\w+$/) },
      });
      expect(JSON.stringify(downLog.lines)).not.toMatch(/@(library\.)?example\.org/);
      const overRate = log.lines.filter((line) => line.message === 'smtp message refused' && line.attributes?.reason === 'rate_limited');
      expect(overRate.map((line) => line.level)).toEqual(['warn', 'warn', 'warn']);
      expect(replies.slice(0, 2)).toEqual(['250 2.1.0 Accepted', '250 2.1.0 Accepted']);
      expect(replies[2]).toBe('451 4.7.1 Rate limit: This API key made 2 requests this minute, its limit. Retry after 30 s. Nothing was accepted.');
      expect(replies[3]).toBe(replies[2]);
      expect(replies[4]).toMatch(/^421 4\.7\.0 Rate limit: .* This connection keeps sending over its rate; closing it\.$/);
      expect(afterClosing).toBe('');
    } finally {
      await Promise.all([down.stop(), limited.stop()]);
      unreachable.close();
    }
  });
});
