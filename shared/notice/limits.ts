// The sizes a submission may reach (docs/integrator/api.md), apart from the schema that checks them, so
// that code which only needs a limit (the digest sizing its notice) does not load the validator.

/** The most notices one request may carry. */
export const MAX_BATCH_NOTICES = 500;
/** The most bytes one notice may take, as JSON. */
export const MAX_NOTICE_BYTES = 256 * 1024;
/** The most bytes one request body may take. */
export const MAX_REQUEST_BYTES = 6 * 1024 * 1024;
/** How far ahead a notice may be scheduled. */
export const MAX_SCHEDULE_DAYS = 366;
