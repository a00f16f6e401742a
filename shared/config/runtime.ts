// The configuration as the deployed functions read it: the output of validation, written by the CDK app
// into each bundle. Validated once at deploy time with the same schema, it is read here without the
// validator, which keeps zod out of the functions that only send.
import { readFileSync } from 'node:fs';
import type { Config } from './schema';

/** Reads a configuration that the deployment validated (see infra/cdk/deployable-config.ts). */
export const readRuntimeConfig = (path: string): Config => JSON.parse(readFileSync(path, 'utf8')) as Config;
