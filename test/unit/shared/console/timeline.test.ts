import { parseActivityQuery } from '../../../../shared/console/activity';
import { buildTimeline } from '../../../../shared/console/timeline';
import { ValidationError } from '../../../../shared/errors';
import { DIGEST_TYPE } from '../../../../shared/notice/model';
import { toSummary } from '../../../../shared/notice/view';
import { aNotice } from '../../../support/factories';

describe('Function: buildTimeline', () => {
  it('tells the story of a notice in order: accepted, each try with its server and reply, SES, the report, webhooks', () => {
    // Prepare
    const notice = aNotice({
      status: 'bounced',
      reportId: 'R1',
      attempts: [
        { at: '2030-01-01T00:01:00.000Z', outcome: 'transient', status: 'retrying', server: 'ses', transport: 'ses', code: 'Throttling', message: 'Throttling: Maximum sending rate exceeded.' },
        { at: '2030-01-01T00:05:00.000Z', outcome: 'sent', status: 'sent', server: 'ses', transport: 'ses', message: 'ses-message-id' },
        { at: '2030-01-01T00:06:00.000Z', outcome: 'bounced', status: 'bounced', server: 'ses', transport: 'ses', enhancedStatus: '5.1.1' },
      ],
      events: [{ at: '2030-01-01T00:06:00.000Z', type: 'bounce', detail: 'Permanent/General: smtp; 550 5.1.1 user unknown' }],
    });
    const report = aNotice({ id: 'R1', kind: 'report', status: 'sent', to: 'circulation@library.example.org', createdAt: '2030-01-01T00:07:00.000Z' });
    // Act
    const timeline = buildTimeline(notice, { report, webhooks: [{ at: '2030-01-01T00:06:01.000Z', event: 'notice.bounced', url: 'https://ils.example.org/hook', ok: false, responseStatus: 500 }] });
    // Assess
    expect(timeline.map((entry) => [entry.kind, entry.title])).toEqual([
      ['accepted', 'Accepted from the ILS'],
      ['attempt', 'Try 1: did not work, will try again'],
      ['attempt', 'Try 2: sent'],
      ['event', 'Amazon SES: bounced'],
      ['webhook', 'Webhook notice.bounced'],
      ['report', 'Return-to-sender report'],
    ]);
    expect(timeline[1]).toMatchObject({ server: 'ses', reply: 'Throttling: Maximum sending rate exceeded.', detail: 'Amazon SES asked Notice Relay to slow down.', problem: true });
    expect(timeline[3]).toMatchObject({ detail: "The patron's mail server returned it.", reply: 'Permanent/General: smtp; 550 5.1.1 user unknown' });
    expect(timeline[4]?.detail).toBe('Not delivered to https://ils.example.org/hook (HTTP 500)');
    expect(timeline[5]).toMatchObject({ detail: 'Sent to circulation@library.example.org: sent.', link: { noticeId: 'R1' } });
  });

  it('links a notice sent again and its copy both ways', () => {
    const original = aNotice({ status: 'failed', resentAs: 'N1', attempts: [{ at: '2030-01-01T01:00:00.000Z', outcome: 'resent', status: 'failed', message: 'sent again from the console as N1' }] });
    const copy = aNotice({ id: 'N1', resentFrom: original.id, attempts: [{ at: '2030-01-01T01:00:00.000Z', outcome: 'resent', status: 'queued', message: 'sent again from the console: a copy of X' }] });
    expect(buildTimeline(original).at(-1)).toMatchObject({ kind: 'resent', title: 'Sent again from the console', link: { noticeId: 'N1' } });
    expect(buildTimeline(copy)).toEqual([expect.objectContaining({ kind: 'accepted', title: 'Created from the console', link: { noticeId: original.id, label: 'the original notice' } })]);
  });

  it('tells the daily digest from a return-to-sender report, here and in the API', () => {
    // Prepare: both are reports to the desk; only the return-to-sender report has a notice it reports
    const digest = aNotice({ kind: 'report', type: DIGEST_TYPE, to: 'circulation@library.example.org' });
    const report = aNotice({ kind: 'report', type: 'return-to-sender', reportFor: '01JB0000000000000000000009', to: 'circulation@library.example.org' });
    // Act
    const [digestAccepted] = buildTimeline(digest);
    const [reportAccepted] = buildTimeline(report);
    // Assess
    expect(digestAccepted).toMatchObject({ kind: 'accepted', title: 'Daily digest created' });
    expect(digestAccepted?.link).toBeUndefined();
    expect(reportAccepted).toMatchObject({ kind: 'accepted', title: 'Return-to-sender report created', link: { noticeId: '01JB0000000000000000000009' } });
    expect([toSummary(digest).kind, toSummary(report).kind, toSummary(aNotice()).kind]).toEqual(['daily-digest', 'return-to-sender', 'notice']);
  });
});

describe('Function: parseActivityQuery', () => {
  it('takes empty fields as "any" and repeated statuses as a list', () => {
    expect(parseActivityQuery({ address: ' Reader@Example.org ', externalId: '', status: ['failed', 'bounced'], from: '2030-01-01', tz: '-300' })).toEqual({
      address: 'Reader@Example.org',
      status: ['failed', 'bounced'],
      from: '2030-01-01',
      tz: -300,
    });
  });

  it('names every field it cannot use', () => {
    try {
      parseActivityQuery({ address: 'not an address', status: 'lost', from: '2030-13-45x', to: '' });
      throw new Error('expected a ValidationError');
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).details.map((d) => d.path).sort()).toEqual(['address', 'from', 'status[0]']);
    }
  });
});
