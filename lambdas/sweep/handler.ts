// EventBridge scheduled event → sweep (shared). The entry point Lambda runs.
import { createDeps } from '../../shared/deps';
import { makeSweepHandler } from './sweep-handler';

export const handler = makeSweepHandler(createDeps(process.env, 'sweep'));
