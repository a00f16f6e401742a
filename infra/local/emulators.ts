// The embedded AWS stand-ins of the local runtime (docs/contributing/layout.md), each on 127.0.0.1. A port of 0 means
// "any free port"; every function answers with where the emulator listens and how to stop it.
import sesServer from 'aws-ses-v2-local';
import dynalite from 'dynalite';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

export interface Running {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export const LOOPBACK = '127.0.0.1';

const closeServer = (server: Server) =>
  new Promise<void>((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections?.();
  });

const listen = (server: Server, port: number) =>
  new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, LOOPBACK, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });

/** A port nobody listens on right now (for a server that cannot be told to pick one itself). */
export const freePort = async (): Promise<number> => {
  const probe = createServer();
  const port = await listen(probe, 0);
  await closeServer(probe);
  return port;
};

/**
 * DynamoDB (dynalite). With `dataDir` (npm start) it persists to LevelDB there, so that a restart, or a
 * SIGKILL, loses no accepted notice, and runs on a worker thread, so that a second core does the store's
 * work; without, in memory on this thread (tests, which start many).
 */
export const startDynamo = async (options: { port?: number; dataDir?: string } = {}): Promise<Running> => {
  const dynaliteOptions = { path: options.dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 };
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    return startDynamoThread(dynaliteOptions, options.port ?? 0);
  }
  const server = dynalite(dynaliteOptions);
  const port = await listen(server, options.port ?? 0);
  return { url: `http://${LOOPBACK}:${port}`, port, stop: () => closeServer(server) };
};

const startDynamoThread = async (dynaliteOptions: object, requestedPort: number): Promise<Running> => {
  const worker = new Worker(join(__dirname, 'dynalite-thread.cjs'), { workerData: { options: dynaliteOptions, port: requestedPort, host: LOOPBACK } });
  const answer = (predicate: (message: Record<string, unknown>) => boolean) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const onMessage = (message: Record<string, unknown>) => {
        if (!predicate(message) && !message.error) return;
        worker.off('message', onMessage);
        worker.off('error', reject);
        if (message.error) reject(Object.assign(new Error(`dynalite: ${String(message.error)}`), { code: message.code, port: message.port }));
        else resolve(message);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
  const exited = once(worker, 'exit');
  let port: number;
  try {
    ({ port } = (await answer((message) => typeof message.port === 'number')) as { port: number });
  } catch (error) {
    // A port in use, say: the thread must not keep the process alive after start-up fails.
    await worker.terminate();
    throw error;
  }
  return {
    url: `http://${LOOPBACK}:${port}`,
    port,
    stop: async () => {
      worker.postMessage('stop');
      // A thread that already died has nothing left to close.
      await Promise.race([answer((message) => message.stopped === true), exited]);
      await worker.terminate();
    },
  };
};

/** SQS (fauxqs), in memory: it holds only doorbells, which the sweep rings again after a restart. */
export const startSqs = async (options: { port?: number } = {}): Promise<Running> => {
  // fauxqs is an ES module; startFauxqs would listen on every interface, so listen on loopback ourselves.
  const { buildApp } = await import('fauxqs');
  const app = buildApp({ logger: false });
  const url = await app.listen({ port: options.port ?? 0, host: LOOPBACK });
  return { url, port: Number(new URL(url).port), stop: () => app.close() };
};

/**
 * SES (aws-ses-v2-local), forwarding what it accepts to the SMTP sink so the mail viewer shows it.
 * aws-ses-v2-local reads SMTP_TRANSPORT from the environment when it forwards.
 */
export const startSes = async (options: { port?: number; forwardTo?: { host: string; port: number } } = {}): Promise<Running> => {
  if (options.forwardTo) {
    process.env.SMTP_TRANSPORT = JSON.stringify({ host: options.forwardTo.host, port: options.forwardTo.port, secure: false, ignoreTLS: true });
  }
  // aws-ses-v2-local answers with its server even when it could not listen, and drops the error: a port
  // asked for is tried first, so that one in use is reported as such.
  if (options.port) {
    const probe = createServer();
    await listen(probe, options.port);
    await closeServer(probe);
  }
  const server = await sesServer({ host: LOOPBACK, port: options.port ?? 0 });
  if (!server.listening) throw new Error(`the SES emulator could not listen on ${LOOPBACK}:${options.port ?? 0}`);
  const port = (server.address() as AddressInfo).port;
  return { url: `http://${LOOPBACK}:${port}`, port, stop: () => closeServer(server) };
};

export interface MailSink extends Running {
  smtpPort: number;
  webUrl: string;
  /** Where the messages received are kept while the sink runs. */
  mailDirectory: string;
}

/**
 * The SMTP sink with its web viewer (maildev): the default relay of config/local.json. maildev keeps each
 * message it receives as a file; left to itself it uses one directory in the system's temporary folder
 * for every run, never emptied, so patron notices would pile up there. Each sink has a directory of its
 * own instead, removed when it stops.
 */
export const startMailSink = async (options: { smtpPort?: number; webPort?: number } = {}): Promise<MailSink> => {
  const { MailDev } = await import('maildev');
  const mailDirectory = mkdtempSync(join(tmpdir(), 'notice-relay-mail-'));
  const maildev = new MailDev({ smtp: options.smtpPort ?? 0, ip: LOOPBACK, web: options.webPort ?? 0, webIp: LOOPBACK, silent: true, mailDirectory });
  const removeMail = () => rmSync(mailDirectory, { recursive: true, force: true });
  try {
    const servers = await withoutMaildevAnnouncement(() => maildev.start());
    // Port 0 asks the system for a free port, and maildev reports the one it bound.
    const smtpPort = servers.smtp.getAddress().port;
    const webPort = servers.api?.getAddress()?.port ?? 0;
    const webUrl = `http://${LOOPBACK}:${webPort}`;
    return {
      url: webUrl,
      port: webPort,
      smtpPort,
      webUrl,
      mailDirectory,
      stop: async () => {
        await maildev.stop();
        removeMail();
      },
    };
  } catch (error) {
    await closeFailedStart(maildev);
    removeMail();
    throw error;
  }
};

/**
 * maildev's API server prints "MailDev API running at …" whatever `silent` says; the banner already names
 * the viewer's URL, so that one line is dropped while the sink starts and everything else passes through.
 */
const withoutMaildevAnnouncement = async <T>(start: () => Promise<T>): Promise<T> => {
  const info = console.info;
  console.info = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('MailDev API running at')) return;
    info.apply(console, args);
  };
  try {
    return await start();
  } finally {
    console.info = info;
  }
};

type Closable = { stop?(): Promise<void>; close?(): Promise<void> } | null | undefined;

/**
 * maildev's stop() does nothing unless start() finished, so a start that failed half way (its web port in
 * use, say) would leave the SMTP listener open and keep the process alive. Close what it opened, in the
 * order stop() would. These are maildev 3's own fields; a test catches a release that renames them.
 */
const closeFailedStart = async (maildev: object) => {
  const parts = (maildev as { orchestrator?: { api?: Closable; smtp?: Closable; storage?: Closable } }).orchestrator;
  for (const part of [parts?.api, parts?.smtp, parts?.storage]) {
    try {
      await (part?.stop ?? part?.close)?.call(part);
    } catch {
      // Never opened, or already closed: nothing left to release.
    }
  }
};
