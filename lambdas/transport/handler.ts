// API Gateway proxy event → the Test Server (shared) → JSON response. The entry point Lambda runs.
import { createDeps } from '../../shared/deps';
import { makeTransportHandler } from './transport-handler';

export const handler = makeTransportHandler(createDeps(process.env, 'transport'));
