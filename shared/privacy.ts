// What of a server's reply may leave the staff's own pages: the text with every email address taken out.
// The transport's status (GET /v1/transport) is about the institution, and a webhook event goes to the ILS
// and waits in a queue on the way, so neither may name a patron; a mail server's refusal (`550 5.1.1
// <patron@example.org>: Recipient address rejected`) and an SES diagnostic often do.

/** Longest reply kept: enough to read, and what carries it stays small. */
const MAX_REPLY = 300;

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * `text` with any email address taken out (and `known` ones, in any case, however they are written around),
 * on one line, at most 300 characters.
 * @example
 * withoutAddresses('550 5.1.1 <gone@example.org>: Recipient address rejected') // '550 5.1.1 <address>: Recipient address rejected'
 */
export const withoutAddresses = (text: string, known: readonly string[] = []): string =>
  known
    // First the addresses known, whole: an apostrophe is allowed in one (o'neil@…), and the pattern below stops at it.
    .filter((address) => address.includes('@'))
    .reduce((scrubbed, address) => scrubbed.replace(new RegExp(escapeRegExp(address), 'gi'), '<address>'), text)
    .replace(/<<address>>/g, '<address>')
    .replace(/<[^<>\s]*@[^<>\s]*>/g, '<address>')
    .replace(/[^\s<>"'()[\],;:]+@[^\s<>"'()[\],;:]+/g, '<address>')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, MAX_REPLY);
