// An OAuth2 token endpoint on 127.0.0.1 for tests, standing in for Google's or Microsoft's: it checks
// the grant, issues access tokens the test relay accepts, and can revoke the refresh token.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TokenEndpoint {
  url: string;
  /** Form fields of every request, in order. */
  requests: Array<Record<string, string>>;
  /** Every access token issued (share it with the relay as its valid tokens). */
  issued: Set<string>;
  /** Refuse the refresh token from now on (invalid_grant), as after a password change. */
  revoke(): void;
  stop(): Promise<void>;
}

export const startTokenEndpoint = async (options: { clientId: string; clientSecret: string; refreshToken?: string; expiresIn: number; issued?: Set<string> }): Promise<TokenEndpoint> => {
  const requests: Array<Record<string, string>> = [];
  const issued = options.issued ?? new Set<string>();
  let revoked = false;
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const form = Object.fromEntries(new URLSearchParams(body));
      requests.push(form);
      const answer = (status: number, payload: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(payload));
      };
      if (form.client_id !== options.clientId || form.client_secret !== options.clientSecret) return answer(401, { error: 'invalid_client', error_description: 'Unknown client' });
      if (form.grant_type === 'refresh_token' && (revoked || form.refresh_token !== options.refreshToken)) {
        return answer(400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
      }
      const token = `access-${requests.length}-${Math.random().toString(36).slice(2)}`;
      issued.add(token);
      return answer(200, { access_token: token, token_type: 'Bearer', expires_in: options.expiresIn });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`,
    requests,
    issued,
    revoke: () => {
      revoked = true;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};
