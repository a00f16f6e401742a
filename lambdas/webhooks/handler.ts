// SQS event (webhook events) → deliverWebhook (shared). The entry point Lambda runs.
import { createWebhookDeps } from '../../shared/deps';
import { makeWebhooksHandler } from './webhooks-handler';

export const handler = makeWebhooksHandler(createWebhookDeps(process.env));
