// The configuration file's shape (docs/it/configuration.md), its defaults and its cross-field rules.
// Every object is strict: a misspelt key ("allowNonsecure") is an error, not a silently ignored option.
import addressparser from 'nodemailer/lib/addressparser';
import * as z from 'zod';
import { dkimKeyProblem } from '../dns/dkim-key';
import { networksOverlap, noLoginNetworkProblem, parseNetwork } from '../submission/networks';
import { emailAddress, formatPath } from '../validation';
import { domainOf } from './domains';
import { providerOfHost } from './oauth-providers';
import { hashApiKey } from './key-digest';
import { WEBHOOK_EVENT_TYPES } from '../webhooks/events';

const PEM = /-----BEGIN [A-Z0-9 ]+-----[\s\S]+-----END [A-Z0-9 ]+-----/;

/** `Name <address>` or a bare address; parsed so the rest of the code never re-parses it. */
const mailbox = z.string().transform((value, ctx) => {
  if (/[\r\n]/.test(value)) {
    ctx.addIssue({ code: 'custom', message: 'must not contain a line break' });
    return z.NEVER;
  }
  const parsed = addressparser(value);
  const only = parsed.length === 1 ? parsed[0] : undefined;
  if (!only || !('address' in only) || !only.address || !emailAddress.safeParse(only.address).success) {
    ctx.addIssue({ code: 'custom', message: 'must be one mailbox, like "Library Name <notices@library.example.org>"' });
    return z.NEVER;
  }
  return { name: only.name || undefined, address: only.address.toLowerCase(), text: value };
});

const hostname = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9.:[\]-]+$/, { message: 'must be a host name or an IP address' });

const domainName = z
  .string()
  .max(253)
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i, { message: 'must be a domain name like bounce.library.example.org' })
  .transform((value) => value.toLowerCase());

/** A CIDR network (or one address), written back canonically: `10.1.0.0/16`. */
const network = z.string().transform((text, ctx) => {
  const parsed = parseNetwork(text);
  if ('problem' in parsed) {
    ctx.addIssue({ code: 'custom', message: parsed.problem });
    return z.NEVER;
  }
  return parsed.text;
});

/** A network whose connections need no login: the ILS's own, never a large part of the internet. */
const noLoginNetwork = network.superRefine((text, ctx) => {
  const parsed = parseNetwork(text);
  const problem = 'problem' in parsed ? undefined : noLoginNetworkProblem(parsed);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const perMinute = z.number().int().positive().max(100_000).optional();
const perDay = z.number().int().positive().max(10_000_000).optional();

const passwordAuth = z.strictObject({
  user: z.string().min(1),
  /** Absent on AWS: the password then comes from the institution's secret. */
  pass: z.string().min(1).optional(),
});

const oauth2Auth = z.strictObject({
  type: z.literal('oauth2'),
  /**
   * Picks the token endpoint and scope; `accessUrl` overrides the endpoint. When absent, the server's
   * host tells (smtp.gmail.com, smtp.office365.com…), else an `accessUrl` makes it `custom`.
   */
  provider: z.enum(['google', 'microsoft', 'custom']).optional(),
  user: z.string().min(1),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1).optional(),
  /** Google and Microsoft 365 delegated access; absent for Microsoft's client-credentials grant. */
  refreshToken: z.string().min(1).optional(),
  /** Microsoft 365: the tenant whose token endpoint is used (`organizations` when absent). */
  tenantId: z.string().min(1).optional(),
  accessUrl: z.url().optional(),
  scope: z.string().min(1).optional(),
});

const smtpServerFields = z.strictObject({
  host: hostname,
  port: z.number().int().min(1).max(65535),
  tls: z.enum(['implicit', 'starttls', 'none']).default('starttls'),
  allowNonSecure: z.boolean().default(false),
  /** PEM of a private certificate authority that signed the relay's certificate. */
  ca: z.string().regex(PEM, { message: 'must be a PEM certificate (-----BEGIN CERTIFICATE-----…)' }).optional(),
  auth: z.union([oauth2Auth, passwordAuth]).optional(),
});

/** A server as the rest of the code sees it: an OAuth2 login always knows its provider. */
type SmtpServerOutput = Omit<z.output<typeof smtpServerFields>, 'auth'> & {
  auth?: (z.output<typeof oauth2Auth> & { provider: 'google' | 'microsoft' | 'custom' }) | z.output<typeof passwordAuth>;
};

const smtpServer = smtpServerFields
  .superRefine((server, ctx) => {
    const auth = server.auth;
    if (auth && 'type' in auth && !auth.provider && !providerOfHost(server.host) && !auth.accessUrl) {
      ctx.addIssue({
        code: 'custom',
        path: ['auth', 'provider'],
        message: `must be google or microsoft (or custom, with an accessUrl): ${server.host} does not tell which token endpoint to ask`,
      });
    }
  })
  .transform((server): SmtpServerOutput => {
    const auth = server.auth;
    if (!auth || !('type' in auth)) return server as SmtpServerOutput;
    return { ...server, auth: { ...auth, provider: auth.provider ?? providerOfHost(server.host) ?? 'custom' } };
  });

const smtpTransport = z.strictObject({
  kind: z.literal('smtp'),
  servers: z.array(smtpServer).min(1, { message: 'needs at least one server' }).max(2, { message: 'takes a primary and at most one backup server' }),
  dkim: z
    .strictObject({
      selector: z.string().regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i, { message: 'must be a DNS label like notices' }),
      /** Absent on AWS: the key then comes from the institution's secret. */
      privateKey: z
        .string()
        .regex(PEM, { message: 'must be a PEM private key' })
        .superRefine((pem, ctx) => {
          const problem = dkimKeyProblem(pem);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        })
        .optional(),
    })
    .optional(),
  maxPerMinute: perMinute,
  maxPerDay: perDay,
});

const sesTransport = z.strictObject({
  kind: z.literal('ses'),
  /** The custom MAIL FROM domain; `bounce.<From domain>` when absent. */
  mailFromDomain: domainName.optional(),
  configurationSet: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
  /**
   * The From domain's SES identity exists already in the account (made by hand, or by another stack):
   * the deployment uses it as it is instead of creating it, which would fail.
   */
  existingIdentity: z.boolean().default(false),
  maxPerMinute: perMinute,
  maxPerDay: perDay,
});

/** Hosts a webhook may reach over plain http: this machine only (`npm start`, tests). */
const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/**
 * A receiver of the institution's events, known by its URL. `secret` signs them (`npm start`; on AWS it is
 * in the institution's secret, `{"webhooks": [{"url": "…", "secret": "…"}]}`, found by this URL).
 */
const webhook = z.strictObject({
  url: z
    .string()
    .max(2048)
    .superRefine((value, ctx) => {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be an absolute URL, like https://ils.library.example.org/notice-relay/events' });
        return;
      }
      if (url.username || url.password) ctx.addIssue({ code: 'custom', message: 'must not hold a user or password: events are signed instead' });
      if (url.protocol === 'https:') return;
      if (url.protocol === 'http:' && LOOPBACK_HOST.test(url.hostname)) return;
      ctx.addIssue({ code: 'custom', message: 'must be https (plain http only to this machine, for testing)' });
    }),
  events: z.array(z.enum(WEBHOOK_EVENT_TYPES as [string, ...string[]])).min(1).default([...WEBHOOK_EVENT_TYPES]),
  secret: z.string().min(24, { message: 'must be at least 24 characters' }).max(256).optional(),
  /** On AWS, a receiver on a private or link-local address is refused unless this says it is meant. */
  allowPrivateNetwork: z.boolean().default(false),
  /** How long one POST may take before it counts as failed and is tried again later. */
  timeoutSeconds: z.number().int().min(1).max(30).default(10),
});

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, { message: 'must be a SHA-256 digest in lower-case hex' });

const institution = z.strictObject({
  id: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/, { message: 'must be 1–40 lower-case letters, digits and inner hyphens' }),
  name: z.string().min(1).max(200).optional(),
  /** Plain keys, for `npm start`; on AWS use apiKeyHashes. */
  apiKeys: z.array(z.string().min(16, { message: 'must be at least 16 characters' }).max(256)).optional(),
  /** SHA-256 of each key, in hex: what the AWS deployment keeps. */
  apiKeyHashes: z.array(sha256Hex).optional(),
  /** Staff keys for the console, plain, for `npm start`; on AWS use consoleKeyHashes. Never an API key. */
  consoleKeys: z.array(z.string().min(16, { message: 'must be at least 16 characters' }).max(256)).optional(),
  /** SHA-256 of each staff key, in hex: what the AWS deployment keeps. */
  consoleKeyHashes: z.array(sha256Hex).optional(),
  from: mailbox,
  bounceTo: emailAddress,
  testTo: z.optional(emailAddress),
  transport: z.discriminatedUnion('kind', [sesTransport, smtpTransport]),
  /** The SMTP door: the networks whose connections may submit as this institution without a login. */
  smtpSubmission: z.strictObject({ allowFrom: z.array(noLoginNetwork).min(1, { message: 'needs at least one network, like 10.1.0.0/16' }) }).optional(),
  /**
   * Where the institution's notice events are posted, signed (docs/integrator/webhooks.md): one entry per
   * URL, which names the receiver to its secret, its queue messages and its delivery records.
   */
  webhooks: z
    .array(webhook)
    .max(10)
    .default([])
    .superRefine((hooks, ctx) => {
      hooks.forEach((hook, index) => {
        const first = hooks.findIndex((other) => other.url === hook.url);
        if (first < index) ctx.addIssue({ code: 'custom', path: [index, 'url'], message: `is webhooks[${first}]'s URL too: one entry per receiver, its events listing all it takes` });
      });
    }),
})
  .superRefine(
    (inst, ctx) => {
      if (!inst.apiKeys?.length && !inst.apiKeyHashes?.length) {
        ctx.addIssue({ code: 'custom', path: ['apiKeys'], message: 'needs at least one key in apiKeys or apiKeyHashes' });
      }
    },
    // Reported with the institution's other problems, not only once they are fixed: every problem at once.
    { when: (payload) => typeof payload.value === 'object' && payload.value !== null },
  )
  .superRefine((inst, ctx) => {
    const fromDomain = domainOf(inst.from.address);
    if (inst.transport.kind === 'ses' && inst.transport.mailFromDomain && !inst.transport.mailFromDomain.endsWith(`.${fromDomain}`)) {
      ctx.addIssue({
        code: 'custom',
        path: ['transport', 'mailFromDomain'],
        message: `must be a subdomain of the From domain ${fromDomain}, or SPF will not align for DMARC`,
      });
    }
  });

/** Whether the runtime knows `zone` as an IANA time zone (Intl throws a RangeError on any other). */
const isTimeZone = (zone: string): boolean => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone.length > 0;
  } catch {
    return false;
  }
};
/**
 * Long enough that the doorbells of a batch spread over `intake.spreadSeconds` fill the sender's batches
 * (500 notices over 60 s come at about 8 a second), short enough that a lone notice, or the Test Server's
 * user watching the mail viewer, never notices it: the bench measures requests per notice with and without.
 */
export const DEFAULT_BATCHING_WINDOW_SECONDS = 5;

const delayRange = z
  .tuple([z.number().int().min(0), z.number().int().min(0)])
  .refine(([min, max]) => min <= max, { message: 'must be [min, max] with min ≤ max' });

export const configSchema = z
  .strictObject({
    institutions: z.array(institution).min(1, { message: 'needs at least one institution' }),
    retry: z
      .strictObject({
        shortRangeSeconds: z.number().int().min(0).default(3600),
        shortDelaySeconds: delayRange.default([180, 540]),
        longDelaySeconds: delayRange.default([3600, 5400]),
        maxAgeSeconds: z.number().int().positive().default(360_000),
        /** A webhook event's tries: the first wait, doubling to the longest, for at most `giveUpAfterSeconds`. */
        webhooks: z
          .strictObject({
            firstDelaySeconds: z.number().int().min(1).max(900).default(30),
            longestDelaySeconds: z.number().int().min(1).max(86_400).default(21_600),
            giveUpAfterSeconds: z.number().int().min(1).max(604_800).default(86_400),
          })
          .prefault({}),
      })
      .prefault({}),
    intake: z
      .strictObject({
        spreadSeconds: z.number().int().min(0).max(900).default(60),
        requestsPerMinutePerKey: z.number().int().min(1).max(1_000_000).default(600),
      })
      .prefault({}),
    sweep: z.strictObject({ intervalSeconds: z.number().int().positive().max(3600).default(60) }).prefault({}),
    sender: z
      .strictObject({
        attemptTimeoutSeconds: z.number().positive().max(600).default(60),
        leaseSeconds: z.number().positive().max(3600).default(90),
        batchSize: z.number().int().min(1).max(10).default(10),
        concurrency: z.number().int().min(1).max(1000).default(4),
        /**
         * Lambda's MaximumBatchingWindowInSeconds (0–300): how long the event source mapping gathers doorbells
         * into one invocation once the first is in hand. Fuller batches make fewer requests per notice; each
         * notice may wait this much longer.
         */
        batchingWindowSeconds: z.number().int().min(0).max(300).default(DEFAULT_BATCHING_WINDOW_SECONDS),
      })
      .superRefine((sender, ctx) => {
        if (sender.leaseSeconds <= sender.attemptTimeoutSeconds) {
          ctx.addIssue({
            code: 'custom',
            path: ['leaseSeconds'],
            message: `must be longer than sender.attemptTimeoutSeconds (${sender.attemptTimeoutSeconds}) so a retry never overlaps a send in flight`,
          });
        }
        // The sweep takes a doorbell for lost twice the lease after its notice was due.
        if (sender.batchingWindowSeconds >= 2 * sender.leaseSeconds) {
          ctx.addIssue({
            code: 'custom',
            path: ['batchingWindowSeconds'],
            message: `must be shorter than twice sender.leaseSeconds (${2 * sender.leaseSeconds}), or the sweep takes the doorbells waiting in a batch for lost`,
          });
        }
      })
      .prefault({}),
    retention: z.strictObject({ days: z.number().int().min(1).max(3650).default(30) }).prefault({}),
    /** How long an address stays on an institution's suppression list; 0 keeps it until it is deleted. */
    suppression: z.strictObject({ days: z.number().int().min(0).max(3650).default(180) }).prefault({}),
    /**
     * How the circulation desk hears of notices that did not arrive: `each` (a return-to-sender report per
     * notice), `daily` (one digest a day at `timeOfDay` in `timeZone`), or `both`.
     */
    reports: z
      .strictObject({
        mode: z.enum(['each', 'daily', 'both']).default('each'),
        timeOfDay: z
          .string()
          .regex(/^([01]\d|2[0-3]):[0-5]\d$/, { message: 'must be a 24-hour time like 07:30' })
          .default('07:00'),
        timeZone: z
          .string()
          .default('UTC')
          .refine((zone) => isTimeZone(zone), { message: 'must be an IANA time zone like America/Chicago' }),
      })
      .prefault({}),
    /** When IT is told that an institution's notices have waited this long with none getting through; fractions for tests and demos. */
    alerts: z.strictObject({ stalledAfterMinutes: z.number().positive().max(10_080).default(30) }).prefault({}),
    /**
     * The SMTP door. `enabled` deploys it on AWS (npm start always opens it); `hostName` is the name the ILS
     * connects to, which its TLS certificate names; `loginFrom` the networks that may connect to log in.
     */
    smtpSubmission: z
      .strictObject({
        enabled: z.boolean().default(false),
        hostName: domainName.optional(),
        loginFrom: z.array(network).default(['0.0.0.0/0', '::/0']),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    const seenIds = new Map<string, number>();
    const keyOwners = new Map<string, string>();
    config.institutions.forEach((inst, index) => {
      const firstIndex = seenIds.get(inst.id);
      if (firstIndex !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['institutions', index, 'id'], message: `repeats the id of institutions[${firstIndex}]` });
      }
      seenIds.set(inst.id, index);
      // Keys are compared by digest, so a key repeated as a plain key in one institution and as a hash in
      // another is caught too: the key ring would otherwise hand it to whichever institution comes first.
      const keys = [
        ...(inst.apiKeys ?? []).map((key, keyIndex) => ({ digest: hashApiKey(key), field: 'apiKeys', keyIndex })),
        ...(inst.apiKeyHashes ?? []).map((digest, keyIndex) => ({ digest, field: 'apiKeyHashes', keyIndex })),
      ];
      for (const { digest, field, keyIndex } of keys) {
        const owner = keyOwners.get(digest);
        if (owner !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['institutions', index, field, keyIndex], message: `is also a key of ${owner}: a key belongs to one institution` });
        }
        keyOwners.set(digest, inst.id);
      }
    });
    // A connection without a login belongs to the institution whose network it comes from: two
    // institutions sharing an address would leave it to chance which one's notices it sends.
    const claimed: Array<{ text: string; path: PropertyKey[]; id: string; index: number }> = [];
    config.institutions.forEach((inst, index) => {
      (inst.smtpSubmission?.allowFrom ?? []).forEach((text, networkIndex) => {
        const path = ['institutions', index, 'smtpSubmission', 'allowFrom', networkIndex];
        const mine = parseNetwork(text);
        const other = claimed.find((earlier) => {
          const theirs = parseNetwork(earlier.text);
          return earlier.index !== index && !('problem' in mine) && !('problem' in theirs) && networksOverlap(mine, theirs);
        });
        if (other) {
          ctx.addIssue({
            code: 'custom',
            path,
            message: `overlaps ${other.text} of ${other.id} (${formatPath(other.path)}): a connection without a login must belong to one institution`,
          });
        }
        claimed.push({ text, path, id: inst.id, index });
      });
    });
    // A staff key that is also an API key would put the ILS's key in a browser, which the console exists to avoid.
    const staffKeyOwners = new Map<string, string>();
    config.institutions.forEach((inst, index) => {
      const staffKeys = [
        ...(inst.consoleKeys ?? []).map((key, keyIndex) => ({ digest: hashApiKey(key), field: 'consoleKeys', keyIndex })),
        ...(inst.consoleKeyHashes ?? []).map((digest, keyIndex) => ({ digest, field: 'consoleKeyHashes', keyIndex })),
      ];
      for (const { digest, field, keyIndex } of staffKeys) {
        const apiOwner = keyOwners.get(digest);
        const staffOwner = staffKeyOwners.get(digest);
        if (apiOwner !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['institutions', index, field, keyIndex], message: `is also an API key of ${apiOwner}: a staff key must differ from every API key` });
        } else if (staffOwner !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['institutions', index, field, keyIndex], message: `is also a staff key of ${staffOwner}: a key belongs to one institution` });
        }
        staffKeyOwners.set(digest, inst.id);
      }
    });
  });

/** The configuration as the file gives it (before defaults). */
export type ConfigInput = z.input<typeof configSchema>;
/** The configuration with every default filled in. */
export type Config = z.output<typeof configSchema>;
export type InstitutionConfig = Config['institutions'][number];
export type TransportConfig = InstitutionConfig['transport'];
export type SmtpTransportConfig = Extract<TransportConfig, { kind: 'smtp' }>;
export type SesTransportConfig = Extract<TransportConfig, { kind: 'ses' }>;
export type SmtpServerConfig = SmtpTransportConfig['servers'][number];
export type RetryConfig = Config['retry'];
export type WebhookRetryConfig = RetryConfig['webhooks'];
export type SenderConfig = Config['sender'];
export type WebhookConfig = InstitutionConfig['webhooks'][number];
export type ReportsConfig = Config['reports'];

