// The staff console as `npm start` serves it, for tests and the page-weight script: the whole pipeline
// (test/support/pipeline.ts) behind the local API gateway on 127.0.0.1, with the console's own parts, a
// relay that refuses the addresses a test names, and a small browser-like client that keeps cookies.
import { startApiGateway } from '../../infra/local/api-gateway';
import type { ConsoleHandlerDeps } from '../../lambdas/console/console-handler';
import type { ConfigInput } from '../../shared/config/schema';
import type { Log } from '../../shared/log';
import type { NoticeInput } from '../../shared/notice/model';
import { aConfig, aConfigInput, DEMO_KEY } from './factories';
import { FAST, type Pipeline, startPipeline } from './pipeline';
import { startRelay, type Relay } from './smtp-relay';

export const STAFF_KEY = 'demo-staff-key-for-tests-0123';
export const BRANCH_STAFF_KEY = 'branch-staff-key-for-tests-0123';
/** The relay refuses these addresses for good (550 5.1.1), as a patron's mail server refuses an unknown user. */
export const UNKNOWN_PATRON = 'no-such-reader@example.org';

export interface ConsoleHarness {
  url: string;
  pipeline: Pipeline;
  relay: Relay;
  consoleDeps: ConsoleHandlerDeps;
  /** POST /v1/notices with the demo API key; answers the new notice's id. */
  submit(notice: NoticeInput): Promise<string>;
  stop(): Promise<void>;
}

export interface ConsoleHarnessOptions {
  log?: Log;
  /** Overrides of the configuration (FAST timings unless given). */
  config?: Partial<ConfigInput>;
}

/** Starts the pipeline, the relay and the gateway; the demo library sends through the relay and has STAFF_KEY. */
export const startConsole = async (options: ConsoleHarnessOptions = {}): Promise<ConsoleHarness> => {
  const relay = await startRelay({ onRcptTo: (address) => (address === UNKNOWN_PATRON ? { code: 550, message: '5.1.1 <no-such-reader@example.org>: no such user here' } : undefined) });
  const input = aConfigInput({ ...FAST, ...options.config });
  input.institutions[0] = { ...input.institutions[0]!, consoleKeys: [STAFF_KEY], transport: { kind: 'smtp', servers: [{ host: '127.0.0.1', port: relay.port, tls: 'none' }] } };
  input.institutions[1] = { ...input.institutions[1]!, consoleKeys: [BRANCH_STAFF_KEY] };
  // Nothing answers DNS on this port: the DNS page shows each lookup as failed, at once, without leaving the machine.
  const pipeline = await startPipeline(aConfig(input), { log: options.log, env: { NOTICE_RELAY_DNS_RESOLVER: '127.0.0.1:9' } });
  const consoleDeps = pipeline.functions.deps.console;
  const gateway = await startApiGateway(pipeline.functions.handlers.api, { port: 0 });
  return {
    url: gateway.url,
    pipeline,
    relay,
    consoleDeps,
    submit: async (notice) => {
      const response = await fetch(`${gateway.url}/v1/notices`, { method: 'POST', headers: { authorization: `Bearer ${DEMO_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(notice) });
      if (response.status !== 202) throw new Error(`the notice was refused: ${response.status} ${await response.text()}`);
      return ((await response.json()) as { id: string }).id;
    },
    stop: async () => {
      await gateway.stop();
      await pipeline.stop();
      await relay.stop();
    },
  };
};

export interface Answer {
  status: number;
  headers: Headers;
  cookies: string[];
  body: string;
  location?: string;
}

/** A client that keeps cookies as a browser does (by name, for the console's path) and never follows redirects. */
export class ConsoleClient {
  public readonly jar = new Map<string, string>();

  public constructor(private readonly base: string, private readonly origin = base) {}

  private async send(method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
    const cookie = [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(`${this.base}${path}`, { method, redirect: 'manual', headers: { ...(cookie ? { cookie } : {}), ...init.headers }, body: init.body });
    const cookies = response.headers.getSetCookie();
    for (const line of cookies) {
      const [pair = '', ...attributes] = line.split(';');
      const [name = '', value = ''] = pair.split('=');
      if (attributes.some((attribute) => /^\s*Max-Age=0$/i.test(attribute))) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return { status: response.status, headers: response.headers, cookies, body: await response.text(), location: response.headers.get('location') ?? undefined };
  }

  public get(path: string): Promise<Answer> {
    return this.send('GET', path);
  }

  /** Posts a form as a browser on the console's page does (with its Origin). */
  public post(path: string, fields: Record<string, string | string[]>, headers: Record<string, string> = {}): Promise<Answer> {
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(fields)) for (const item of [value].flat()) body.append(name, item);
    return this.send('POST', path, { body: body.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', origin: this.origin, ...headers } });
  }

  /** The value of a hidden field on a page. */
  public static fieldOf(page: string, name: string): string | undefined {
    return new RegExp(`name="${name}" value="([^"]*)"`).exec(page)?.[1];
  }

  /** Signs in to `institution` with `key`; answers the sign-in's answer. */
  public async signIn(institution: string, key: string): Promise<Answer> {
    const form = await this.get(`/console/sign-in?institution=${institution}`);
    return this.post('/console/sign-in', { signin: ConsoleClient.fieldOf(form.body, 'signin') ?? '', institution, key });
  }

  /** The CSRF token of the signed-in session, read from a page's sign-out form. */
  public async csrf(): Promise<string> {
    const page = await this.get('/console/activity');
    return ConsoleClient.fieldOf(page.body, 'csrf') ?? '';
  }
}
