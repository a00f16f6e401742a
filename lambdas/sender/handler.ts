// SQS event → sender (shared) → partial batch response. The entry point Lambda runs.
import { createSenderDeps } from '../../shared/deps';
import { makeSenderHandler } from './sender-handler';

export const handler = makeSenderHandler(createSenderDeps(process.env));
