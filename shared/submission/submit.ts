// The SMTP door's use cases (docs/integrator/smtp-door.md): who is submitting, whether the key's
// rate allows another message, and a message accepted as notices through the same acceptNotices as
// POST /v1/notices, so that a 250 means what a 202 means: every notice of the message is stored.
import { createHash } from 'node:crypto';
import type { KeyRing } from '../auth';
import type { Config, InstitutionConfig } from '../config/schema';
import { RateLimitedError, UnauthorizedError, UnavailableError } from '../errors';
import { type Accepted, acceptNotices, type IntakeDeps } from '../intake/accept-notices';
import { admitRequest, type KeyRateCounter } from '../intake/key-rate';
import { messageToNotices, parseMessage } from './message';
import { type Fault, reply, replyFor, type SmtpReply, SmtpRefusalError } from './replies';

/** Who sends the messages of a connection. */
export interface Submitter {
  institution: InstitutionConfig;
  /** `login`: AUTH with an API key; `network`: no login, from one of the institution's allowFrom networks. */
  via: 'login' | 'network';
  /** What the key's rate is counted against: the API key's digest, or the no-login networks' own. */
  rateKey: string;
}

export interface SubmissionDeps extends IntakeDeps {
  config: Pick<Config, 'intake'>;
  keyRing: KeyRing;
  keyRates: KeyRateCounter;
}

/** Refusals for the key's rate on one connection before the door closes it with 421 4.7.0. */
export const RATE_REFUSALS_BEFORE_CLOSING = 3;

/** A log-safe outcome of a message, for the listener to log beside the connection's facts. */
export interface MessageOutcome {
  reply: SmtpReply;
  reason: string;
  /** Whose a refusal is, and the error's code when it is the door's. */
  fault?: Fault;
  errorCode?: string;
  ids?: string[];
  replayed?: boolean;
  /** How many of `ids` an earlier copy of the message had already created. */
  alreadyAccepted?: number;
  recipients?: number;
}

/**
 * AUTH PLAIN or LOGIN: the user name is the institution's id, the password one of its API keys. The key
 * is checked as the API checks it, in constant time; a key of another institution is refused like a wrong one.
 * @throws SmtpRefusalError 535 5.7.8.
 */
export const authenticateSubmitter = (keyRing: KeyRing, username: string, password: string): Submitter => {
  let found: ReturnType<KeyRing['authenticate']> | undefined;
  try {
    found = keyRing.authenticate(password);
  } catch {
    found = undefined;
  }
  if (!found || found.institution.id !== username.trim().toLowerCase()) {
    throw new SmtpRefusalError(replyFor(new UnauthorizedError()).reply, 'login_refused');
  }
  return { institution: found.institution, via: 'login', rateKey: found.keyId };
};

/** The submitter of a connection without a login from one of `institution`'s networks. */
export const networkSubmitter = (institution: InstitutionConfig): Submitter => ({
  institution,
  via: 'network',
  // Counted like a key of its own, named by a digest as keys are, so it never collides with one.
  rateKey: createHash('sha256').update(`smtp-no-login:${institution.id}`).digest('hex'),
});

/**
 * MAIL FROM: one more message within the key's rate, counted as the API counts a request
 * (`intake.requestsPerMinutePerKey`, across every door and intake instance).
 * @throws RateLimitedError over the rate, UnavailableError when the counter cannot be reached (replyFor
 * answers them 451 4.7.1, the client's, and 451 4.3.0, the door's).
 */
export const admitMessage = async (deps: SubmissionDeps, submitter: Submitter): Promise<void> => {
  try {
    await admitRequest(deps.keyRates, submitter.rateKey, deps.config.intake.requestsPerMinutePerKey, deps.clock.now());
  } catch (error) {
    if (error instanceof RateLimitedError) throw error;
    // Anything but the rate itself means the counter, in the store, did not answer.
    throw new UnavailableError('The key rate counter did not answer.', 5, { cause: error });
  }
};

/** `2 notices (01J…, 01J…)`, at most three ids named. */
const noticesText = (ids: readonly string[]): string => {
  const listed = ids.length <= 3 ? ids.join(', ') : `${ids.slice(0, 2).join(', ')} and ${ids.length - 2} more`;
  return `${ids.length} notice${ids.length === 1 ? '' : 's'} (${listed})`;
};

const queuedText = (accepted: Accepted): string => {
  const ids = accepted.notices.map((notice) => notice.id);
  if (accepted.replayed) return `Already accepted: ${noticesText(ids)}; nothing new was created.`;
  const earlier = new Set(accepted.alreadyAccepted);
  const created = ids.filter((id) => !earlier.has(id));
  return `Accepted: ${noticesText(created)} queued${earlier.size > 0 ? `; already accepted: ${noticesText(accepted.alreadyAccepted)}` : ''}.`;
};

/**
 * After DATA: the message becomes one notice per envelope recipient, all stored or none, or a refusal
 * that says what to fix. Never throws: every outcome is a reply.
 * Primary course: 1. read the message; 2. check its From and X-Notice-* headers; 3. accept the notices,
 * each with the Message-ID and its recipient as Idempotency-Key; 4. answer 250 once they are durable.
 * @example
 * const outcome = await acceptMessage(deps, submitter, session.envelope.rcptTo.map((r) => r.address), raw);
 */
export const acceptMessage = async (deps: SubmissionDeps, submitter: Submitter, recipients: readonly string[], raw: Buffer): Promise<MessageOutcome> => {
  try {
    const submission = messageToNotices(await parseMessage(raw), recipients, submitter.institution);
    const accepted = await acceptNotices(deps, submitter.institution, submission.body, submission.idempotencyKeys, { wholeOrNothing: true });
    const ids = accepted.notices.map((notice) => notice.id);
    return {
      reply: reply(250, '2.6.0', queuedText(accepted)),
      reason: accepted.replayed ? 'replayed' : 'accepted',
      ids,
      replayed: accepted.replayed,
      alreadyAccepted: accepted.alreadyAccepted.length,
      recipients: submission.facts.recipients,
    };
  } catch (error) {
    return replyFor(error);
  }
};
