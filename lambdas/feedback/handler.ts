// EventBridge event (SES feedback) → feedback (shared). The entry point Lambda runs.
import { createFeedbackDeps } from '../../shared/deps';
import { makeFeedbackHandler } from './feedback-handler';

export const handler = makeFeedbackHandler(createFeedbackDeps(process.env));
