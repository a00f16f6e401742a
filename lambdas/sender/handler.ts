// SQS event → sender (shared) → partial batch response. The entry point Lambda runs.
import { createDeps } from '../../shared/deps';
import { makeSenderHandler } from './sender-handler';

export const handler = makeSenderHandler(createDeps(process.env, 'sender'));
