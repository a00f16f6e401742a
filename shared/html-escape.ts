// Text made safe to stand in HTML, for every page and email Notice Relay writes as HTML: the console's
// pages (lambdas/console/views/html.ts) and the daily digest (shared/digest/render.ts).

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for HTML text and quoted attribute values. */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (character) => ENTITIES[character] as string);
