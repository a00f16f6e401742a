// `notice-relay secret-template --config F --institution ID` (README: Deploy to AWS): the JSON document
// an institution's Secrets Manager secret holds, every field empty, for IT to fill in and put.
import { parseArgs } from 'node:util';
import { loadConfig } from '../../shared/config/load';
import { secretTemplate } from '../../shared/secrets';

type Output = { out: (text: string) => void; err: (text: string) => void };

const USAGE = 'Usage: notice-relay secret-template --config F --institution ID';

export const secretTemplateCommand = (args: string[], output: Output, env: NodeJS.ProcessEnv = process.env): number => {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, institution: { type: 'string' } }, strict: true });
  if (!values.config || !values.institution) {
    output.err(USAGE);
    return 2;
  }
  const config = loadConfig(values.config, env);
  const institution = config.institutions.find((inst) => inst.id === values.institution);
  if (!institution) {
    output.err(`No institution "${values.institution}" in ${values.config}; it has ${config.institutions.map((inst) => inst.id).join(', ')}.`);
    return 2;
  }
  const template = secretTemplate(institution);
  if (!template) {
    output.err(`Institution ${institution.id} needs no secret: it sends through SES, or through servers without a login, OAuth2 or DKIM key.`);
    return 1;
  }
  output.out(JSON.stringify(template, null, 2));
  return 0;
};
