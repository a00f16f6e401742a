// API Gateway proxy event → intake (shared) → JSON response. The entry point Lambda runs.
import { createIntakeDeps } from '../../shared/deps';
import { makeIntakeHandler } from './intake-handler';

export const handler = makeIntakeHandler(createIntakeDeps(process.env));
