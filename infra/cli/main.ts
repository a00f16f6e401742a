// `notice-relay <command>` (README: Command line): argv → the command → exit code.
import { parseArgs } from 'node:util';
import { describeConfigError } from '../../shared/config/load';
import { ConfigError } from '../../shared/errors';
import { banner, startLocal } from '../local/start';
import { dnsCheckCommand, dnsRecordsCommand } from './dns';
import type { CliOutput } from './command';
import { secretTemplateCommand } from './secret-template';
import { sendTestCommand } from './send-test';

const USAGE = `Usage: notice-relay <command> [options]

Commands:
  start                       run the whole pipeline on this machine (what npm start runs)
  dns-records --config F [--dkim-tokens a,b,c] [--dkim-key ID=FILE]
                              the records for every sending domain, as zone lines
                              (the SES region for the MAIL FROM MX comes from AWS_REGION, default us-east-1;
                              --dkim-key reads an institution's DKIM private key for its TXT record)
  dns-check --config F [--resolver HOST:PORT] [--dkim-tokens a,b,c] [--dkim-key ID=FILE]
                              looks each record up: ✔ or ✘ with what was found and the record to publish;
                              exit 0 when all are right, 1 otherwise
  send-test --config F --institution ID [--to ADDR] [--secret ARN] [--table NAME]
                              send a test email now through each of the institution's servers in turn
                              (what POST /v1/transport/test does); exit 0 when one took it, 1 otherwise.
                              --secret reads passwords and keys from the institution's Secrets Manager
                              secret; --table records the result in the deployment's table, for
                              GET /v1/transport (both with this machine's AWS credentials)
  secret-template --config F --institution ID
                              the JSON the institution's Secrets Manager secret holds (passwords, OAuth2
                              secrets, DKIM key), every field empty: fill it in, then
                              aws secretsmanager put-secret-value --secret-id <Secret output> --secret-string file://…
  help                        show this text
`;

const start = async (output: CliOutput): Promise<number> => {
  const runtime = await startLocal(process.env);
  output.out(banner(runtime));
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        output.err(`${signal} again: exiting at once.`);
        process.exit(1);
      }
      stopping = true;
      output.out(`\n${signal}: stopping…`);
      runtime
        .stop()
        .catch((error: unknown) => output.err(`while stopping: ${(error as Error).message}`))
        .finally(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  output.out('Stopped.');
  return 0;
};

/** Runs one command; answers the process exit code. */
export const run = async (argv: string[], output: CliOutput = { out: (t) => console.log(t), err: (t) => console.error(t) }): Promise<number> => {
  const [command, ...rest] = argv;
  // The SDK warns once per process that future releases need Node 22; the README says so instead.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  try {
    switch (command) {
      case 'start':
        parseArgs({ args: rest, options: {}, strict: true });
        return await start(output);
      case 'dns-records':
        return await dnsRecordsCommand(rest, output);
      case 'dns-check':
        return await dnsCheckCommand(rest, output);
      case 'send-test':
        return await sendTestCommand(rest, output);
      case 'secret-template':
        return secretTemplateCommand(rest, output);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        output.out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        output.err(`Unknown command: ${command}\n\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      output.err(describeConfigError(error));
      return 1;
    }
    output.err(`notice-relay ${command}: ${(error as Error).message}`);
    return 1;
  }
};
