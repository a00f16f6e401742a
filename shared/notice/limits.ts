// The sizes a submission may reach (docs/integrator/api.md), apart from the schema that checks them, so
// that code which only needs a limit (the digest sizing its notice) does not load the validator.

/** The most notices one request may carry. */
export const MAX_BATCH_NOTICES = 500;
/**
 * The most bytes one notice may take, as JSON, attachments included. Its content item holds no more than
 * this (the strings without their JSON escapes) plus its key and TTL, under DynamoDB's 400 KB item limit
 * with room to spare; the store compresses the bulky fields only when that makes the item smaller
 * (shared/store/content-item.ts), so the limit holds in either form. The state item holds only the short
 * fields and the history.
 */
export const MAX_NOTICE_BYTES = 256 * 1024;
/** The most bytes one request body may take. */
export const MAX_REQUEST_BYTES = 6 * 1024 * 1024;
/** How far ahead a notice may be scheduled. */
export const MAX_SCHEDULE_DAYS = 366;
