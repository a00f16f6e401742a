import { lastReply } from '../../../../shared/notice/last-reply';
import type { HistoryEntry } from '../../../../shared/notice/model';

const RELAY = 'mail.library.example.org:587';
const sent: HistoryEntry = { at: '2030-01-01T00:00:05.000Z', outcome: 'sent', status: 'sent', transport: 'ses', server: 'ses', message: '0100018c5a1b2c3d-000000' };
const greylisted: HistoryEntry = { at: '2030-01-01T00:00:01.000Z', outcome: 'transient', status: 'retrying', transport: 'smtp', server: RELAY, responseCode: 451, enhancedStatus: '4.7.1', message: '451 4.7.1 Greylisted' };
const refused: HistoryEntry = { at: '2030-01-01T00:10:00.000Z', outcome: 'permanent', status: 'failed', transport: 'smtp', server: RELAY, responseCode: 550, enhancedStatus: '5.1.1', message: '550 5.1.1 <gone@example.org>: User unknown' };
const bounced: HistoryEntry = { at: '2030-01-01T00:00:03.000Z', outcome: 'bounced', status: 'sending', transport: 'ses', server: 'ses', enhancedStatus: '5.1.1', code: 'EBOUNCED', message: 'Permanent/General: smtp; 550 5.1.1 user unknown' };

describe('Function: lastReply', () => {
  it("is the last attempt a server answered, with its server and status, never Notice Relay's own entries", () => {
    // Prepare
    const attempts: HistoryEntry[] = [
      greylisted,
      refused,
      { at: '2030-01-01T00:11:00.000Z', outcome: 'resent', status: 'failed', message: 'sent again from the console as 01JB…' },
      { at: '2030-01-01T00:12:00.000Z', outcome: 'discarded', status: 'discarded', message: 'not delivered within 100 hours of becoming due' },
    ];
    // Act & Assess
    expect(lastReply({ attempts })).toEqual({ at: refused.at, message: refused.message, transport: 'smtp', server: RELAY, enhancedStatus: '5.1.1' });
  });

  it("takes SES's bounce, with its diagnostic, over the attempt the sender recorded after it", () => {
    // Prepare: SES reported the bounce while the sender still held the notice
    const attempts = [bounced, sent];
    // Act & Assess
    expect(lastReply({ attempts })).toMatchObject({ message: 'Permanent/General: smtp; 550 5.1.1 user unknown', enhancedStatus: '5.1.1' });
  });

  it('takes the last verdict when SES gave more than one (a delivery, then a complaint)', () => {
    // Prepare
    const attempts: HistoryEntry[] = [
      sent,
      { at: '2030-01-01T00:00:07.000Z', outcome: 'delivered', status: 'delivered', transport: 'ses', server: 'ses', message: '250 2.6.0 Message received' },
      { at: '2030-01-01T02:00:00.000Z', outcome: 'complained', status: 'complained', transport: 'ses', server: 'ses', message: 'abuse' },
    ];
    // Act & Assess
    expect(lastReply({ attempts })?.message).toBe('abuse');
  });

  it('is nothing when no server said anything: suppressed, or cancelled before the first try', () => {
    // Act & Assess
    expect(lastReply({ attempts: [] })).toBeUndefined();
    expect(lastReply({ attempts: [{ at: '2030-01-01T00:00:00.000Z', outcome: 'suppressed', status: 'suppressed', message: 'not sent: the address is on the suppression list' }] })).toBeUndefined();
    expect(lastReply({ attempts: [{ ...sent, message: undefined }] })).toBeUndefined();
  });
});
