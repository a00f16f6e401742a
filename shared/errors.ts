// The domain's error classes. Adapters translate them (lambdas/intake/http.ts maps them to HTTP
// statuses); `name` is a string literal so it survives minified bundles.

/** One problem with an input, located by its JSON path (`notices[3].to`). */
export interface ErrorDetail {
  path: string;
  message: string;
}

/** Base of every error the domain raises on purpose. */
export class NoticeRelayError extends Error {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NoticeRelayError';
  }
}

/** The request or a file is malformed; `details` lists every problem found, not only the first. */
export class ValidationError extends NoticeRelayError {
  public readonly code: string;
  public readonly details: ErrorDetail[];

  public constructor(message: string, details: ErrorDetail[] = [], code = 'validation_failed', options?: ErrorOptions) {
    super(message, options);
    this.name = 'ValidationError';
    this.code = code;
    this.details = details;
  }
}

/** The body is not JSON at all (as opposed to JSON of the wrong shape). */
export class MalformedJsonError extends NoticeRelayError {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MalformedJsonError';
  }
}

/** The body is not JSON in UTF-8; `code` says how (`unsupported_media_type`, `invalid_utf8`). */
export class UnsupportedMediaTypeError extends NoticeRelayError {
  public readonly code: string;

  public constructor(message: string, code = 'unsupported_media_type', options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnsupportedMediaTypeError';
    this.code = code;
  }
}

/** A size limit was exceeded; `code` says which (`request_too_large`, `notice_too_large`, `batch_too_large`). */
export class TooLargeError extends NoticeRelayError {
  public readonly code: string;
  public readonly details: ErrorDetail[];

  public constructor(message: string, code: string, details: ErrorDetail[] = [], options?: ErrorOptions) {
    super(message, options);
    this.name = 'TooLargeError';
    this.code = code;
    this.details = details;
  }
}

export class UnauthorizedError extends NoticeRelayError {
  public constructor(message = 'A valid API key is required: send "Authorization: Bearer <key>" or "x-api-key: <key>".', options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnauthorizedError';
  }
}

export class NotFoundError extends NoticeRelayError {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NotFoundError';
  }
}

/** The request contradicts the current state (a sent notice cannot be cancelled, a reused Idempotency-Key). */
export class ConflictError extends NoticeRelayError {
  public readonly code: string;

  public constructor(message: string, code = 'conflict', options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConflictError';
    this.code = code;
  }
}

/** The caller is over a rate; `retryAfterSeconds` tells it when to come back. */
export class RateLimitedError extends NoticeRelayError {
  public readonly retryAfterSeconds: number;

  public constructor(message: string, retryAfterSeconds: number, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RateLimitedError';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** A dependency (store, queue) did not answer; the request changed nothing the caller can see and may be retried. */
export class UnavailableError extends NoticeRelayError {
  public readonly retryAfterSeconds: number;

  public constructor(message: string, retryAfterSeconds = 5, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnavailableError';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** A list's cursor the store did not issue: altered, cut short, or from another API. */
export class InvalidCursorError extends NoticeRelayError {
  public constructor(options?: ErrorOptions) {
    super('unknown cursor', options);
    this.name = 'InvalidCursorError';
  }
}

/** The notice changed after it was read (another sender, the sweep or a DELETE acted first). */
export class StaleNoticeError extends NoticeRelayError {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StaleNoticeError';
  }
}

/** A stored notice's packed content this version cannot read: written by a later version, or damaged. */
export class UnreadableContentError extends NoticeRelayError {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnreadableContentError';
  }
}

/** The configuration file is unusable; `details` lists every problem by JSON path. */
export class ConfigError extends NoticeRelayError {
  public readonly details: ErrorDetail[];

  public constructor(message: string, details: ErrorDetail[] = [], options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigError';
    this.details = details;
  }
}

/** A short, log-safe code for any thrown value: the error's `code` or `name`, never its message. */
export const errorCode = (error: unknown): string => {
  if (error && typeof error === 'object') {
    const { code, name } = error as { code?: unknown; name?: unknown };
    if (typeof code === 'string' && code.length > 0) return code;
    if (typeof name === 'string' && name.length > 0) return name;
  }
  return 'UnknownError';
};

/** How a failed attempt counts (docs/contributing/notice-flow.md): try again later, or never. */
export type Verdict = 'transient' | 'permanent';

/**
 * What an outcome is about: the patron's address, this one message, or the institution's own sending
 * setup (its relay, login, TLS, DNS or SES account). Only the first two may fail a notice.
 */
export type Scope = 'recipient' | 'message' | 'institution';

/** One entry of the catalogue of outcomes (shared/transport/classify.ts): its code decides the rest. */
export interface OutcomeKind {
  code: string;
  scope: Scope;
  verdict: Verdict;
}

/** Facts about a failed send, for the history and the classifier's callers; never a patron address. */
export interface DeliveryFacts {
  transport: 'smtp' | 'ses';
  /** `host:port` of the relay that answered or was tried last, or `ses`. */
  server?: string;
  /** The outcome's code, from the catalogue in shared/transport/classify.ts (`EAUTH`, `ERECIPIENT`…). */
  code: string;
  /** SMTP reply code (RFC 5321 §4.2). */
  responseCode?: number;
  /** RFC 3463 enhanced status code, e.g. `5.1.1`. */
  enhancedStatus?: string;
  /** The SMTP command that drew the reply (`RCPT TO`, `DATA`…), or the SES error's name. */
  command?: string;
  /** The copies (cc) a relay accepted while it refused the patron's address: not sent again. */
  copiesAccepted?: string[];
}

/**
 * A send that did not succeed. Built only by shared/transport/classify.ts, which gives it an outcome
 * of its catalogue: the code, and with it the scope and the verdict.
 */
export class DeliveryError extends NoticeRelayError {
  public readonly verdict: Verdict;
  public readonly scope: Scope;
  public readonly facts: DeliveryFacts;

  public constructor(message: string, outcome: OutcomeKind, facts: Omit<DeliveryFacts, 'code'>, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DeliveryError';
    this.verdict = outcome.verdict;
    this.scope = outcome.scope;
    this.facts = { ...facts, code: outcome.code };
  }
}
