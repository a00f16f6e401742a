// WebhookPoster on Node's http/https: one POST, a deadline over the whole exchange, and (on AWS) no request to
// a private, loopback or link-local address unless the receiver's entry allows it. The address is checked
// where the connection is made (the socket's own lookup), so a name that resolves differently a second time
// (DNS rebinding) cannot slip past the check (OWASP, Server-Side Request Forgery Prevention).
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { PostOutcome, WebhookPoster } from './deliver';

/** Whether an address is one a public receiver can have (ipaddr.js names every other range). */
export const isPublicAddress = (address: string): boolean => {
  try {
    const parsed = ipaddr.process(address);
    return parsed.range() === 'unicast';
  } catch {
    return false;
  }
};

class PrivateAddressError extends Error {
  public readonly code = 'EPRIVATE';
}

/** A lookup that refuses every address that is not public. */
const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '', 0);
    const list = addresses as LookupAddress[];
    const refused = list.find((entry) => !isPublicAddress(entry.address));
    if (refused || list.length === 0) return callback(new PrivateAddressError(`${hostname} resolves to an address that is not public`), '', 0);
    if (options.all) return (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, list);
    const first = list[0] as LookupAddress;
    return callback(null, first.address, first.family);
  });
};

const outcomeOfError = (error: { code?: string }): PostOutcome => {
  if (error.code === 'EPRIVATE') return { error: 'private-address' };
  if (error.code === 'ECONNREFUSED') return { error: 'refused' };
  if (error.code === 'ETIMEDOUT' || error.code === 'ECONNRESET_TIMEOUT') return { error: 'timeout' };
  if (typeof error.code === 'string' && /CERT|TLS|SSL/.test(error.code)) return { error: 'tls' };
  return { error: 'network' };
};

export const httpPoster: WebhookPoster = {
  post: (url, body, headers, options) =>
    new Promise<PostOutcome>((resolve) => {
      const target = new URL(url);
      // An address literal is checked here: no lookup runs for it.
      const literal = target.hostname.replace(/^\[|\]$/g, '');
      if (!options.allowPrivateNetwork && ipaddr.isValid(literal) && !isPublicAddress(literal)) return resolve({ error: 'private-address' });
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      let settled = false;
      const finish = (outcome: PostOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const request = send(
        target,
        {
          method: 'POST',
          headers: { ...headers, 'content-length': Buffer.byteLength(body) },
          ...(options.allowPrivateNetwork ? {} : { lookup: publicOnlyLookup }),
        },
        (response) => {
          // The answer's body is not kept: only its status says whether the event arrived.
          response.resume();
          response.on('end', () => finish({ statusCode: response.statusCode ?? 0 }));
          response.on('error', () => finish({ statusCode: response.statusCode ?? 0 }));
        },
      );
      const timer = setTimeout(() => {
        finish({ error: 'timeout' });
        request.destroy();
      }, options.timeoutMs);
      request.on('error', (error) => finish(outcomeOfError(error as { code?: string })));
      request.end(body);
    }),
};
