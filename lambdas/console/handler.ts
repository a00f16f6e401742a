// API Gateway proxy event → the staff console (shared/console) → HTML. The entry point Lambda runs.
import { createConsoleDeps } from '../../shared/deps';
import { makeConsoleHandler } from './console-handler';

export const handler = makeConsoleHandler(createConsoleDeps(process.env));
