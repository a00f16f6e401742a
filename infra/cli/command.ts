// What the commands share: where they write, and, for those about one institution, --config F
// --institution ID, read and checked.
import { loadConfig } from '../../shared/config/load';
import type { Config, InstitutionConfig } from '../../shared/config/schema';

/** The command line itself is wrong (an option missing, unknown or malformed): exit 2, with the usage. */
export class UsageError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Where a command writes: its lines for the terminal, and its complaints. */
export interface CliOutput {
  out: (text: string) => void;
  err: (text: string) => void;
}

/**
 * The configuration and the institution the options name; a UsageError (exit 2, with the command's help)
 * for a missing option or an institution the file does not have.
 */
export const chosenInstitution = (values: { config?: string; institution?: string }, env: NodeJS.ProcessEnv): { config: Config; institution: InstitutionConfig } => {
  if (!values.config || !values.institution) throw new UsageError('--config F and --institution ID are required');
  const config = loadConfig(values.config, env);
  const institution = config.institutions.find((inst) => inst.id === values.institution);
  if (!institution) throw new UsageError(`No institution "${values.institution}" in ${values.config}; it has ${config.institutions.map((inst) => inst.id).join(', ')}.`);
  return { config, institution };
};
