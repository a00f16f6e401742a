// What composing produces and takes, apart from how: the notice's composer and the return-to-sender
// report's both answer an OutgoingMessage, and the transports send one.
import type { InstitutionConfig } from '../config/schema';
import type { Notice } from '../notice/model';

/** A composed message and how to route it. */
export interface OutgoingMessage {
  noticeId: string;
  /** The Message-ID header, `<notice id@From domain>`: the same for every attempt of a notice. */
  messageId: string;
  /** The From header as configured: what SES is given as the source. */
  from: string;
  /** SMTP envelope: MAIL FROM (where relays send bounces; empty for the null sender `<>`) and RCPT TO. */
  envelope: { from: string; to: string[] };
  /** The message, its lines ended with CRLF only (RFC 5322 §2.1). */
  raw: Buffer;
}

export interface ComposeOptions {
  now: Date;
  /** Fixes MIME boundaries, for byte-exact tests. */
  baseBoundary?: string;
}

/**
 * MAIL FROM for a notice: bounces that relays send later go to the circulation desk (`bounceTo`), like the
 * report of a failed send. A report to the desk (a return-to-sender report, the daily digest) goes with the
 * null sender (RFC 3464 §2, RFC 5321 §4.5.5): nothing may bounce back to a report, so no loop can start
 * between two systems reporting on each other.
 */
export const envelopeSender = (notice: Pick<Notice, 'kind'>, institution: Pick<InstitutionConfig, 'bounceTo'>): string => (notice.kind === 'report' ? '' : institution.bounceTo);
