// EventBridge event (SES feedback) → feedback (shared). The entry point Lambda runs.
import { createBaseDeps } from '../../shared/deps';
import { makeFeedbackHandler } from './feedback-handler';

export const handler = makeFeedbackHandler(createBaseDeps(process.env, 'feedback'));
