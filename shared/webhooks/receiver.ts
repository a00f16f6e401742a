// Names a webhook receiver without its secret: a short digest of its URL, which the queue's messages and the
// delivery records carry, so a receiver removed from the configuration is recognised as gone.
import { createHash } from 'node:crypto';

export const receiverId = (url: string): string => createHash('sha256').update(url).digest('hex').slice(0, 16);
