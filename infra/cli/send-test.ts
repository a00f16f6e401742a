// `notice-relay send-test --config F --institution ID [--to ADDR] [--secret ARN]` (DESIGN.md §8): the Test
// Server from a terminal. Sends a test email now through each configured server in turn and says which
// answered. With --secret, the passwords and keys of a deployed configuration come from the institution's
// Secrets Manager secret (the stack's Secret<institution> output), read with the machine's AWS credentials.
import { parseArgs } from 'node:util';
import { loadConfig } from '../../shared/config/load';
import { createDeskDeps } from '../../shared/deps';
import { silentLog } from '../../shared/log';
import { makeDesk } from '../../shared/transport/desk';

type Output = { out: (text: string) => void; err: (text: string) => void };

export const sendTestCommand = async (args: string[], output: Output, env: NodeJS.ProcessEnv = process.env): Promise<number> => {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, institution: { type: 'string' }, to: { type: 'string' }, secret: { type: 'string' } }, strict: true });
  if (!values.config || !values.institution) {
    output.err('Usage: notice-relay send-test --config F --institution ID [--to ADDR] [--secret ARN]');
    return 2;
  }
  const config = loadConfig(values.config, env);
  const institution = config.institutions.find((inst) => inst.id === values.institution);
  if (!institution) {
    output.err(`No institution "${values.institution}" in ${values.config}; it has ${config.institutions.map((inst) => inst.id).join(', ')}.`);
    return 2;
  }
  const deps = createDeskDeps(env, config, silentLog, values.secret ? { institutionId: institution.id, secretId: values.secret } : undefined);
  try {
    const result = await makeDesk(deps).test(institution, values.to);
    output.out(`Test email for ${institution.name ?? institution.id} to ${result.to}, ${result.testedAt}:`);
    for (const server of result.servers) output.out(`  ${server.ok ? '✔' : '✘'} ${server.server} — ${server.reply}`);
    output.out(result.ok ? `OK: ${result.server} took the message. Check that it arrived, and not as spam.` : 'FAILED: no server took the message (see "Having a problem?" in the README).');
    return result.ok ? 0 : 1;
  } finally {
    deps.close();
  }
};
