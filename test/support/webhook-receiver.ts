// A webhook receiver on 127.0.0.1 for integration tests: it records every request whole (headers and raw
// body) and answers each as the test's script says: a status, or never (a hung receiver).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  headers: IncomingMessage['headers'];
  body: string;
  receivedAt: number;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedRequest[];
  /** The answers to give, in order; after them every request gets `thenAnswer`. `'hang'` never answers. */
  script(answers: Array<number | 'hang'>, thenAnswer?: number | 'hang'): void;
  stop(): Promise<void>;
}

export const startWebhookReceiver = async (path = '/notice-relay/events'): Promise<WebhookReceiver> => {
  const received: ReceivedRequest[] = [];
  let answers: Array<number | 'hang'> = [];
  let fallback: number | 'hang' = 200;
  const hung: ServerResponse[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), receivedAt: Date.now() });
      const answer = answers.shift() ?? fallback;
      if (answer === 'hang') {
        hung.push(response);
        return;
      }
      response.writeHead(answer, { 'content-type': 'text/plain' }).end(answer < 300 ? 'ok' : 'not now');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    received,
    script: (next, thenAnswer = 200) => {
      answers = [...next];
      fallback = thenAnswer;
    },
    stop: async () => {
      for (const response of hung) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
