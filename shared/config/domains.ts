// Domains of an institution's configuration, without the schema (and its validator) behind them: the
// functions that only send read these, and the schema itself checks a MAIL FROM domain with them.

/** What the MAIL FROM domain is decided from: an institution's From address and its transport. */
export interface SendingIdentity {
  from: { address: string };
  transport: { kind: 'ses'; mailFromDomain?: string } | { kind: 'smtp' };
}

/** The domain part of an address, lower-cased. */
export const domainOf = (address: string): string => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

/** The custom MAIL FROM domain of an SES institution (`bounce.<From domain>` unless configured). */
export const mailFromDomainOf = (inst: SendingIdentity): string | undefined =>
  inst.transport.kind === 'ses' ? (inst.transport.mailFromDomain ?? `bounce.${domainOf(inst.from.address)}`) : undefined;
