// EventBridge scheduled event → sweep (shared). The entry point Lambda runs.
import { createBaseDeps } from '../../shared/deps';
import { makeSweepHandler } from './sweep-handler';

export const handler = makeSweepHandler(createBaseDeps(process.env, 'sweep'));
