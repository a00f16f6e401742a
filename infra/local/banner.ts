// What `npm start` prints once everything listens (docs/it/run-locally.md): where the API and the mail
// viewer are, a curl to paste, and a warning before patron data would cross a network in plain text.
import type { Config } from '../../shared/config/schema';
import { type LocalSmtpDoor, smtpDoorBanner } from '../smtp-door/local';

/** The key the committed demo configuration ships with: published in docs/integrator/api.md, so printing it gives nothing away. */
export const DEMO_API_KEY = 'local-only-demo-key';
/** The key config/local.json gives the demo library's staff for the console: published like the demo API key. */
export const DEMO_STAFF_KEY = 'local-only-demo-staff-key';

/** What the banner tells of a running local runtime. */
export interface BannerFacts {
  apiUrl: string;
  /** Whether the API answers beyond this machine, and whether over HTTPS. */
  api: { reachableFromOtherMachines: boolean; https: boolean };
  /** The configuration file read; the committed demo's keys may be shown, a real one's never are. */
  configPath: string;
  demoConfig: boolean;
  dataDir: string;
  mailViewerUrl: string;
  config: Pick<Config, 'institutions'>;
  endpoints: { smtpSink: { host: string; port: number } };
  /** The SMTP door (NOTICE_RELAY_SMTP_PORT, NOTICE_RELAY_SMTPS_PORT), when it listens. */
  smtpDoor?: LocalSmtpDoor;
}

/**
 * The console's banner line: its sign-in URL, and the demo staff key only for the committed demo
 * configuration on this machine alone, as for the API key.
 */
const consoleLine = (runtime: BannerFacts): string => {
  const staff = runtime.config.institutions.find((inst) => inst.consoleKeys?.length || inst.consoleKeyHashes?.length);
  const url = `${runtime.apiUrl}/console${staff ? `/sign-in?institution=${staff.id}` : ''}`;
  const demo = runtime.demoConfig && staff?.consoleKeys?.[0] === DEMO_STAFF_KEY && !runtime.api.reachableFromOtherMachines;
  const key = !staff ? 'no staff key is configured (consoleKeys)' : demo ? `staff key ${DEMO_STAFF_KEY}` : `a staff key of "${staff.id}" in ${runtime.configPath} (not shown)`;
  return `  Console        ${url}   (${key})`;
};

/**
 * What `npm start` prints once everything listens. It shows an API key only for the committed demo
 * configuration on this machine alone: a relay that other machines use is a real one, whose output may
 * end up in a system log, and a key is a secret.
 */
export const banner = (runtime: BannerFacts): string => {
  const institution = runtime.config.institutions.find((inst) => inst.apiKeys?.length) ?? runtime.config.institutions[0];
  const firstKey = institution?.apiKeys?.[0];
  // The file's path alone does not make it the demo: someone may have put a key of their own in it.
  const demoKey = runtime.demoConfig && firstKey === DEMO_API_KEY && !runtime.api.reachableFromOtherMachines ? firstKey : undefined;
  const key = demoKey ?? '<API key>';
  const keyLine = demoKey ? `${demoKey}   (institution "${institution?.id}")` : `one of institution "${institution?.id}"'s keys in ${runtime.configPath} (not shown)`;
  const plainBeyondThisMachine = runtime.api.reachableFromOtherMachines && !runtime.api.https;
  const smtpDoor = runtime.smtpDoor ? smtpDoorBanner(runtime.smtpDoor, institution, key) : { summary: [], example: [] };
  return [
    '',
    'Notice Relay is running on this machine.',
    '',
    `  API            ${runtime.apiUrl}   (OpenAPI: ${runtime.apiUrl}/v1/openapi.json)`,
    `  API key        ${keyLine}`,
    consoleLine(runtime),
    `  Mail viewer    ${runtime.mailViewerUrl}   (every email sent, as received)`,
    `  Mail sink      SMTP on ${runtime.endpoints.smtpSink.host}:${runtime.endpoints.smtpSink.port}   (${runtime.demoConfig ? 'the relay of config/local.json; ' : ''}NOTICE_RELAY_SINK_SMTP_PORT sets its port)`,
    ...smtpDoor.summary,
    ...(plainBeyondThisMachine
      ? [
          '',
          'Warning: the API answers other machines over plain HTTP, so API keys and patron addresses cross the',
          'network unencrypted. Set NOTICE_RELAY_TLS_CERT and NOTICE_RELAY_TLS_KEY for HTTPS, or put an HTTPS proxy in front.',
        ]
      : []),
    '',
    'Send a notice:',
    '',
    `  curl -sS -X POST ${runtime.apiUrl}/v1/notices \\`,
    `    -H 'Authorization: Bearer ${key}' -H 'Content-Type: application/json' \\`,
    `    -d '{"to":"patron@example.org","subject":"Your hold is ready","text":"Pick it up at the front desk by Friday.","type":"hold-pickup"}'`,
    '',
    ...(smtpDoor.example.length ? [...smtpDoor.example, ''] : []),
    `Ctrl-C stops it; accepted notices are kept in ${runtime.dataDir} (NOTICE_RELAY_DATA) across restarts.`,
    '',
  ].join('\n');
};
