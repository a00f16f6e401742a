// API Gateway proxy event → the Test Server (shared) → JSON response. The entry point Lambda runs.
import { createTransportFunctionDeps } from '../../shared/deps';
import { makeTransportHandler } from './transport-handler';

export const handler = makeTransportHandler(createTransportFunctionDeps(process.env));
