// `notice-relay <command>` (docs/it/configuration.md, Command line): argv → the command → exit code.
import { parseArgs } from 'node:util';
import { describeConfigError } from '../../shared/config/load';
import { ConfigError } from '../../shared/errors';
import { banner } from '../local/banner';
import { startLocal } from '../local/start';
import { dnsCheckCommand, dnsRecordsCommand } from './dns';
import { type CliOutput, UsageError } from './command';
import { secretTemplateCommand } from './secret-template';
import { sendTestCommand } from './send-test';

/** Each command's own help: what `notice-relay <command> --help` and `notice-relay help <command>` print. */
const COMMAND_HELP: Record<string, string> = {
  start: `  start                       run the whole pipeline on this machine (what npm start runs)`,
  'dns-records': `  dns-records --config F [--dkim-tokens [DOMAIN=]a,b,c] [--dkim-key ID=FILE]
                              the records for every sending domain, as zone lines
                              (the SES region for the MAIL FROM MX comes from AWS_REGION, default us-east-1;
                              --dkim-key reads an institution's DKIM private key for its TXT record)`,
  'dns-check': `  dns-check --config F [--resolver IP:PORT] [--dkim-tokens [DOMAIN=]a,b,c] [--dkim-key ID=FILE]
                              looks each record up: ✔ or ✘ with what was found and the record to publish;
                              exit 0 when all are right, 1 otherwise. An SES domain's three DKIM CNAMEs
                              are checked when --dkim-tokens gives its tokens (the DkimTokens output;
                              with several SES domains, once per domain as DOMAIN=a,b,c)`,
  'send-test': `  send-test --config F --institution ID [--to ADDR] [--secret ARN] [--table NAME]
                              send a test email now through each of the institution's servers in turn
                              (what POST /v1/transport/test does); exit 0 when one took it, 1 otherwise.
                              --secret reads passwords and keys from the institution's Secrets Manager
                              secret; --table records the result in the deployment's table, for
                              GET /v1/transport (both with this machine's AWS credentials)`,
  'secret-template': `  secret-template --config F --institution ID
                              the JSON the institution's Secrets Manager secret holds (passwords, OAuth2
                              secrets, DKIM key), every field empty: fill it in, then
                              aws secretsmanager put-secret-value --secret-id <Secret output> --secret-string file://…`,
  help: `  help [COMMAND]              show this text, or one command's (also: notice-relay COMMAND --help)`,
};

const USAGE = `Usage: notice-relay <command> [options]

Commands:
${Object.values(COMMAND_HELP).join('\n')}

Exit status: 0 when the command did what it was asked, 1 when it could not (a record is wrong, no server
took the test), 2 when the command line or the configuration file is wrong.
`;

const helpOf = (command: string): string => `Usage: notice-relay ${COMMAND_HELP[command]?.trim()}\n`;

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

/** Runs one command; answers the process exit code (see USAGE). */
export const run = async (argv: string[], output: CliOutput = { out: (t) => console.log(t), err: (t) => console.error(t) }): Promise<number> => {
  const [command, ...rest] = argv;
  // The SDK warns once per process that future releases need Node 22; the docs say so instead
  // (docs/contributing/layout.md, Dependencies and why).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  if (command && command in COMMAND_HELP && command !== 'help' && rest.some((arg) => arg === '--help' || arg === '-h')) {
    output.out(helpOf(command));
    return 0;
  }
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
      case 'help':
      case '--help':
      case '-h': {
        const [about] = rest;
        if (about === undefined || about === '--help' || about === '-h') output.out(USAGE);
        else if (about in COMMAND_HELP) output.out(helpOf(about));
        else {
          output.err(`Unknown command: ${about}\n\n${USAGE}`);
          return 2;
        }
        return 0;
      }
      case undefined:
        output.out(USAGE);
        return 2;
      default:
        output.err(`Unknown command: ${command}\n\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    // node:util's parseArgs names the offending option ("Unknown option '--x'") in an error of its own code.
    if (error instanceof UsageError || String((error as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS_')) {
      output.err(`notice-relay ${command}: ${(error as Error).message}\n\n${helpOf(command as string)}`);
      return 2;
    }
    if (error instanceof ConfigError) {
      output.err(describeConfigError(error));
      // start reads its configuration from the environment: not starting is a failure like any other.
      return command === 'start' ? 1 : 2;
    }
    output.err(`notice-relay ${command}: ${(error as Error).message}`);
    return 1;
  }
};
