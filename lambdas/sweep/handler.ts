// EventBridge scheduled event → sweep (shared). The entry point Lambda runs.
import { createSweepDeps } from '../../shared/deps';
import { makeSweepHandler } from './sweep-handler';

export const handler = makeSweepHandler(createSweepDeps(process.env));
