import { explainAttempt, explainEvent, pauseReason, reasonFor, statusLabel } from '../../../../shared/console/reasons';
import { OUTCOMES } from '../../../../shared/transport/classify';
import type { HistoryEntry } from '../../../../shared/notice/model';
import { aNotice } from '../../../support/factories';

const entry = (overrides: Partial<HistoryEntry>): HistoryEntry => ({ at: '2030-01-01T00:01:00.000Z', outcome: 'transient', status: 'retrying', ...overrides });

describe('Function: reasonFor', () => {
  it.each([
    ['an unknown address', entry({ outcome: 'permanent', status: 'failed', responseCode: 550, enhancedStatus: '5.1.1', code: 'EENVELOPE' }), "The patron's email address does not exist.", 'patron'],
    ['a full mailbox', entry({ outcome: 'permanent', status: 'failed', responseCode: 552, enhancedStatus: '5.2.2' }), "The patron's mailbox is full.", 'patron'],
    ['a spam filter', entry({ outcome: 'permanent', status: 'failed', responseCode: 550, enhancedStatus: '5.7.1' }), "The patron's mail server refused it as unwanted (a spam filter or a policy).", 'patron'],
    ['SES refusing the message', entry({ outcome: 'permanent', status: 'failed', transport: 'ses', code: 'MessageRejected' }), 'Amazon SES refused the message.', 'it'],
    ['a 5xx without an enhanced status', entry({ outcome: 'permanent', status: 'failed', responseCode: 554 }), 'The mail server refused it for good.', 'patron'],
  ])('explains a notice that failed on %s', (_what, refusal, summary, who) => {
    // Act
    const reason = reasonFor(aNotice({ status: 'failed', attempts: [refusal] }));
    // Assess
    expect(reason).toMatchObject({ summary, who });
  });

  it('explains a give-up by its last problem, and tells an expiry from a give-up', () => {
    // Prepare
    const refused = entry({ code: 'EAUTH', responseCode: 535 });
    // Act
    const givenUp = reasonFor(aNotice({ status: 'discarded', attempts: [refused, entry({ outcome: 'discarded', status: 'discarded' })] }));
    const expired = reasonFor(aNotice({ status: 'discarded', expiresAt: '2030-01-02T00:00:00.000Z', attempts: [] }));
    // Assess
    expect(givenUp.summary).toBe("It could not be delivered in time, so Notice Relay gave up. Last problem: The mail server refused Notice Relay's login.");
    expect(givenUp.who).toBe('it');
    expect(expired.summary).toBe('It expired before it could be delivered (its pickup or due window ended).');
  });

  it('never tells staff a notice given up on is "tried again later", whatever its last problem was', () => {
    // Act: the last try timed out, which alone goes away by itself
    const givenUp = reasonFor(aNotice({ status: 'discarded', attempts: [entry({ code: 'ETIMEDOUT' }), entry({ outcome: 'discarded', status: 'discarded' })] }));
    // Assess
    expect(givenUp.action).not.toMatch(/tried again/);
    expect(givenUp).toMatchObject({ action: expect.stringMatching(/^Tell the library's IT/), who: 'it' });
  });

  it('explains bounces and complaints from what Amazon SES reported', () => {
    expect(reasonFor(aNotice({ status: 'bounced', events: [{ at: 'x', type: 'bounce', detail: 'Permanent/NoEmail: smtp; 550 5.1.1 user unknown' }] })).summary).toBe("The patron's email address does not exist.");
    expect(reasonFor(aNotice({ status: 'bounced', events: [{ at: 'x', type: 'bounce', detail: 'Permanent/OnAccountSuppressionList' }] })).summary).toMatch(/account's suppression list/);
    expect(reasonFor(aNotice({ status: 'complained' }))).toMatchObject({ summary: 'The patron marked it as spam.', who: 'patron' });
    expect(explainEvent({ at: 'x', type: 'bounce', detail: 'Transient/MailboxFull' }).summary).toBe("The patron's mailbox is full, for now (a soft bounce).");
  });

  it('explains a notice still waiting by its last try, and one suppressed, which the lifecycle will add', () => {
    expect(reasonFor(aNotice({ status: 'retrying', attempts: [entry({ code: 'ECONNECTION' })] })).summary).toBe("The library's mail server could not be reached.");
    expect(reasonFor(aNotice({ status: 'queued' })).summary).toBe('Waiting for its first try.');
    expect(reasonFor(aNotice({ status: 'suppressed' as never })).summary).toMatch(/suppression list/);
    expect(statusLabel('suppressed')).toBe('Not sent (suppressed)');
    expect(statusLabel('a-status-of-tomorrow')).toBe('a-status-of-tomorrow');
  });

  it('says something for a code no catalogue entry names, without inventing a cause', () => {
    expect(explainAttempt(entry({ code: 'ESOMETHINGNEW' }))).toEqual({ summary: 'A try did not work (ESOMETHINGNEW).', action: 'Nothing to do: it is tried again.', who: 'none' });
    expect(explainAttempt(entry({ outcome: 'permanent', status: 'failed', code: 'ESOMETHINGNEW' })).who).toBe('patron');
  });

  it.each(Object.values(OUTCOMES).filter((outcome) => outcome.code !== 'EUNKNOWN').map((outcome) => [outcome.code, outcome]))(
    "words %s as the catalogue does, with the catalogue's idea of who acts",
    (code, outcome) => {
      // Act
      const reason = explainAttempt(entry({ code, outcome: outcome.verdict === 'permanent' ? 'permanent' : 'transient' }));
      // Assess
      expect(reason).toEqual({ summary: outcome.staff.says, ...(outcome.staff.action ? { action: outcome.staff.action } : {}), who: outcome.staff.who });
      if (outcome.scope === 'institution') expect(reason.who).not.toBe('patron');
    },
  );

  it("never words the library's own refusal as the patron's, whatever its enhanced status", () => {
    // 5.7.1 relay access denied at RCPT TO: the catalogue's ERELAYDENIED, not a spam filter of the patron's
    const reason = explainAttempt(entry({ code: 'ERELAYDENIED', responseCode: 554, enhancedStatus: '5.7.1' }));
    expect(reason.who).toBe('it');
    expect(reason.summary).toBe(OUTCOMES.ERELAYDENIED.staff.says);
  });

  it('explains a notice held while sending is paused by the pause, and the pause itself', () => {
    // Prepare
    const held = entry({ outcome: 'deferred', status: 'retrying', code: 'EAUTH', message: "held while the institution's sending is paused (EAUTH: the relay refused the login)" });
    // Act
    const reason = reasonFor(aNotice({ status: 'retrying', attempts: [held] }));
    // Assess
    expect(reason).toEqual({ summary: "Waiting: the library's sending is paused. The mail server refused Notice Relay's login.", action: OUTCOMES.EAUTH.staff.action, who: 'it' });
    expect(pauseReason('ESESNOTVERIFIED', 'ses')).toMatchObject({ summary: OUTCOMES.ESESNOTVERIFIED.staff.says, who: 'it' });
    expect(pauseReason('ETHROTTLED', 'ses')).toMatchObject({ summary: 'Amazon SES asked Notice Relay to slow down.', who: 'none' });
  });

  it('places codes older versions recorded: socket codes and SES error names', () => {
    expect(explainAttempt(entry({ code: 'ECONNREFUSED' })).summary).toBe(OUTCOMES.ECONNECTION.staff.says);
    expect(explainAttempt(entry({ code: 'AccountSendingPausedException' })).summary).toBe(OUTCOMES.ESESPAUSED.staff.says);
    expect(explainAttempt(entry({ code: 'constructor' })).summary).toBe('A try did not work (constructor).');
  });
});
