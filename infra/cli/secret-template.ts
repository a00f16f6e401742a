// `notice-relay secret-template --config F --institution ID` (docs/it/deploy.md): the JSON document
// an institution's Secrets Manager secret holds, every field empty, for IT to fill in and put.
import { parseArgs } from 'node:util';
import { secretTemplate } from '../../shared/secrets';
import { chosenInstitution, type CliOutput } from './command';

export const secretTemplateCommand = (args: string[], output: CliOutput, env: NodeJS.ProcessEnv = process.env): number => {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, institution: { type: 'string' } }, strict: true });
  const { institution } = chosenInstitution(values, env);
  const template = secretTemplate(institution);
  if (!template) {
    output.err(`Institution ${institution.id} needs no secret: it sends through SES, or through servers without a login, OAuth2 or DKIM key.`);
    return 1;
  }
  output.out(JSON.stringify(template, null, 2));
  return 0;
};
