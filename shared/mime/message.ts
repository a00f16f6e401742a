// What composing produces and takes, apart from how: the notice's composer and the return-to-sender
// report's both answer an OutgoingMessage, and the transports send one.

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
