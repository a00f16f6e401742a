// Line ends of a composed message: CRLF only, whichever way it leaves.

/**
 * Every line ended with CRLF (RFC 5322 §2.1, §2.3: a bare CR or LF may not occur). The composer leaves a
 * text body's own line ends as they were given; Nodemailer's SMTP connection mends them on the way out,
 * but SES's SendRawEmail takes the bytes as they are. Bodies are 7-bit or 8-bit text (binary parts are
 * base64), so a line end is never part of the content.
 * @example
 * const raw = withCrlf(await build()); // "a\nb" → "a\r\nb"
 */
export const withCrlf = (raw: Buffer): Buffer => {
  const text = raw.toString('latin1');
  return /\r(?!\n)|(?<!\r)\n/.test(text) ? Buffer.from(text.replace(/\r\n|\r|\n/g, '\r\n'), 'latin1') : raw;
};
