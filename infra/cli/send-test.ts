// `notice-relay send-test --config F --institution ID [--to ADDR] [--secret ARN] [--table NAME]` (README:
// Command line): the Test Server from a terminal. Sends a test email now through each configured server in turn and
// says which answered. With --secret, the passwords and keys of a deployed configuration come from the
// institution's Secrets Manager secret (the stack's Secret<institution> output); with --table, the result
// is recorded in the deployment's table, where GET /v1/transport shows it as the API's own test would be.
// Both are reached with the machine's AWS credentials.
import { parseArgs } from 'node:util';
import { createDeskDeps } from '../../shared/deps';
import { errorCode } from '../../shared/errors';
import { silentLog } from '../../shared/log';
import { makeDesk } from '../../shared/transport/desk';
import { emailAddress } from '../../shared/validation';
import { chosenInstitution, type CliOutput, UsageError } from './command';

export const sendTestCommand = async (args: string[], output: CliOutput, env: NodeJS.ProcessEnv = process.env): Promise<number> => {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string' }, institution: { type: 'string' }, to: { type: 'string' }, secret: { type: 'string' }, table: { type: 'string' } },
    strict: true,
  });
  const { config, institution } = chosenInstitution(values, env);
  if (values.to !== undefined && !emailAddress.safeParse(values.to).success) throw new UsageError(`--to ${values.to}: must be an email address like name@example.org`);
  const deps = createDeskDeps(env, config, silentLog, {
    ...(values.secret ? { secret: { institutionId: institution.id, secretId: values.secret } } : {}),
    ...(values.table ? { tableName: values.table } : {}),
  });
  const problems: string[] = [];
  try {
    // A record that fails is noted, not thrown: the test itself happened, and IT must see its result even
    // when the table cannot be reached (wrong name, region or permissions).
    const recordFailed = (error: unknown) => problems.push(error instanceof Error ? `${error.name}: ${error.message}` : errorCode(error));
    const { lastTestedAt, lastTestResult: result } = await makeDesk({ ...deps, recordFailed }).test(institution, values.to);
    output.out(`Test email for ${institution.name ?? institution.id} to ${result.to}, ${lastTestedAt}:`);
    for (const server of result.servers) output.out(`  ${server.ok ? '✔' : '✘'} ${server.server} — ${server.reply}`);
    output.out(result.ok ? `OK: ${result.server} took the message. Check that it arrived, and not as spam.` : 'FAILED: no server took the message (see "Having a problem?" in the README).');
    if (!result.ok && institution.transport.kind === 'ses') {
      output.out(
        `SES is reached with this machine's AWS credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) in AWS_REGION (${env.AWS_REGION || 'us-east-1'}). ` +
          "To test against npm start's SES emulator instead, start it with NOTICE_RELAY_SES_PORT=P and set NOTICE_RELAY_SES_ENDPOINT=http://127.0.0.1:P here.",
      );
    }
    if (!values.table) return result.ok ? 0 : 1;
    if (problems.length) {
      output.err(`Not recorded in table ${values.table}: ${problems.join('; ')}`);
      return 1;
    }
    output.out(`Recorded in table ${values.table}: GET /v1/transport shows it as lastTestedAt ${lastTestedAt}.`);
    return result.ok ? 0 : 1;
  } finally {
    deps.close();
  }
};
