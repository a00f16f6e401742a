// EventBridge scheduled event → daily digests (shared). The entry point Lambda runs.
import { createDigestDeps } from '../../shared/deps';
import { makeDigestHandler } from './digest-handler';

export const handler = makeDigestHandler(createDigestDeps(process.env));
