// What of a server's reply may leave the staff's own pages: the text with every email address taken out.
// The transport's status (GET /v1/transport) is about the institution, not a patron; a mail server's
// refusal (`550 5.1.1 <patron@example.org>: Recipient address rejected`) and an SES diagnostic often name one.

/** Longest reply kept: enough to read, and what carries it stays small. */
const MAX_REPLY = 300;

/**
 * `text` with any email address taken out, on one line, at most 300 characters.
 * @example
 * withoutAddresses('550 5.1.1 <gone@example.org>: Recipient address rejected') // '550 5.1.1 <address>: Recipient address rejected'
 */
export const withoutAddresses = (text: string): string =>
  text
    .replace(/<[^<>\s]*@[^<>\s]*>/g, '<address>')
    .replace(/[^\s<>"'()[\],;:]+@[^\s<>"'()[\],;:]+/g, '<address>')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, MAX_REPLY);
