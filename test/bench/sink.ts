// The SMTP relay every figure sends to: a minimal server on 127.0.0.1 that greets at once, accepts every
// message (RFC 5321 §3.3 MAIL/RCPT/DATA, with PIPELINING), and keeps only how many arrived and when.
// Not smtp-server: it waits 100 ms before every greeting to catch early talkers, which no relay a
// library sends through does, and which would charge the sender (a connection per batch) and the naive
// baseline (a connection per notice) a delay that belongs to the test server, not to them.
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface CountingSink {
  host: string;
  port: number;
  /** Messages accepted since the last reset. */
  count(): number;
  /** When the first and the last message were accepted (performance.now()). */
  firstAt(): number;
  lastAt(): number;
  bytes(): number;
  /** Connections opened since the last reset. */
  connections(): number;
  reset(): void;
  stop(): Promise<void>;
}

const EHLO_REPLY = '250-sink.example.org\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n';
const END_OF_DATA = '\r\n.\r\n';

export const startCountingSink = async (): Promise<CountingSink> => {
  const state = { count: 0, firstAt: 0, lastAt: 0, bytes: 0, connections: 0 };
  const sockets = new Set<Socket>();

  const accepted = (size: number): string => {
    const now = performance.now();
    if (state.count === 0) state.firstAt = now;
    state.count++;
    state.lastAt = now;
    state.bytes += size;
    return `250 2.0.0 Ok: queued as ${state.count}\r\n`;
  };

  const server = createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    // latin1 keeps one character per byte, so lengths are byte counts and nothing is decoded.
    socket.setEncoding('latin1');
    let buffer = '';
    let inData = false;
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let replies = '';
      for (;;) {
        if (inData) {
          // A message ends with CRLF "." CRLF; an empty one is a lone "." line.
          const end = buffer.startsWith('.\r\n') ? 0 : buffer.indexOf(END_OF_DATA);
          if (end < 0) break;
          replies += accepted(end);
          buffer = buffer.slice(end === 0 ? 3 : end + END_OF_DATA.length);
          inData = false;
          continue;
        }
        const eol = buffer.indexOf('\r\n');
        if (eol < 0) break;
        const verb = buffer.slice(0, Math.min(eol, 4)).toUpperCase();
        buffer = buffer.slice(eol + 2);
        if (verb === 'EHLO') replies += EHLO_REPLY;
        else if (verb === 'HELO') replies += '250 sink.example.org\r\n';
        else if (verb === 'MAIL') replies += '250 2.1.0 Ok\r\n';
        else if (verb === 'RCPT') replies += '250 2.1.5 Ok\r\n';
        else if (verb === 'RSET' || verb === 'NOOP') replies += '250 2.0.0 Ok\r\n';
        else if (verb === 'DATA') {
          replies += '354 End data with <CR><LF>.<CR><LF>\r\n';
          inData = true;
        } else if (verb === 'QUIT') {
          socket.end(`${replies}221 2.0.0 Bye\r\n`);
          return;
        } else replies += '502 5.5.2 Command not recognized\r\n';
      }
      if (replies) socket.write(replies);
    });
    socket.write('220 sink.example.org ESMTP\r\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    count: () => state.count,
    firstAt: () => state.firstAt,
    lastAt: () => state.lastAt,
    bytes: () => state.bytes,
    connections: () => state.connections,
    reset: () => Object.assign(state, { count: 0, firstAt: 0, lastAt: 0, bytes: 0, connections: 0 }),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
};
