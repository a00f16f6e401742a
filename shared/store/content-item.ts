// How a notice's content is kept as an item (`content#<id>`): written once, read by the sender (and the
// console's notice view, and a send-again) with its state. The bulky fields (text, html, attachments and
// a report's machine-readable part) go into one Binary attribute, compressed, whenever that makes the
// item smaller: DynamoDB bills a write unit per KB written and a read unit per 4 KB read, and the text
// and HTML of an ordinary notice say the same thing twice, so together they shrink to about a third and
// the content of a notice of a few KB fits in one write unit instead of two or three.
//
// Raw DEFLATE at zlib's default level: on the bench's notices it takes half the CPU of brotli at a
// quality of similar size, and either is far under a write unit's worth (test/bench/content-codec.ts).
// Items written before this form existed, with the fields as plain attributes, read as they always did.
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { UnreadableContentError } from '../errors';
import type { NoticeContent } from '../notice/model';

/** The Binary attribute that holds the compressed fields: a codec byte, then the codec's output. */
export const PACKED_ATTRIBUTE = 'packed';

/** The fields packed: all that may be large. The addresses and the subject stay plain. */
const BULKY = ['text', 'html', 'attachments', 'report'] as const satisfies ReadonlyArray<keyof NoticeContent>;
type Bulky = Pick<NoticeContent, (typeof BULKY)[number]>;

/** The first byte of a packed value: how the rest was written. A later codec gets the next number. */
const DEFLATE_RAW_JSON = 1;

/**
 * Bytes DynamoDB counts for the plain attributes `packed` replaces, near enough to choose the smaller
 * form: an attribute is its name's and its value's UTF-8 bytes, and a list or map a few bytes more
 * than its JSON text, which is counted instead.
 */
const plainBytes = (bulky: Bulky): number =>
  Object.entries(bulky).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + (typeof value === 'string' ? Buffer.byteLength(value) : Buffer.byteLength(JSON.stringify(value))), 0);

/**
 * The attributes of a content item (without its key and TTL): the bulky fields packed into one
 * compressed Binary when that is smaller than them as they are, and left plain when it is not (a notice
 * of a few words).
 *
 * @example
 * const item = { pk: `content#${id}`, ...contentAttributes(record.content) };
 */
export const contentAttributes = (content: NoticeContent): Record<string, unknown> => {
  const bulky: Bulky = {};
  const rest: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(content)) {
    if (value === undefined) continue;
    if ((BULKY as readonly string[]).includes(name)) (bulky as Record<string, unknown>)[name] = value;
    else rest[name] = value;
  }
  if (Object.keys(bulky).length === 0) return rest;
  const compressed = deflateRawSync(Buffer.from(JSON.stringify(bulky), 'utf8'));
  const packedBytes = Buffer.byteLength(PACKED_ATTRIBUTE) + 1 + compressed.length;
  if (packedBytes >= plainBytes(bulky)) return { ...rest, ...bulky };
  // A Uint8Array is marshalled as DynamoDB's Binary (B), and read back as one.
  return { ...rest, [PACKED_ATTRIBUTE]: new Uint8Array(Buffer.concat([Buffer.of(DEFLATE_RAW_JSON), compressed])) };
};

/**
 * The content a stored item holds, whichever form it was written in; `item` is without the attributes
 * only the table uses (key, TTL).
 */
export const contentOfItem = (item: Record<string, unknown>): NoticeContent => {
  const { [PACKED_ATTRIBUTE]: packed, ...rest } = item;
  if (packed === undefined) return rest as unknown as NoticeContent;
  if (!(packed instanceof Uint8Array) || packed.length === 0) throw new UnreadableContentError('the packed content of a notice is not binary');
  const bytes = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
  if (bytes[0] !== DEFLATE_RAW_JSON) throw new UnreadableContentError(`the content of a notice is packed with codec ${bytes[0]}, which this version does not know`);
  let bulky: Bulky;
  try {
    bulky = JSON.parse(inflateRawSync(bytes.subarray(1)).toString('utf8')) as Bulky;
  } catch (error) {
    throw new UnreadableContentError('the packed content of a notice does not decompress', { cause: error });
  }
  return { ...rest, ...bulky } as NoticeContent;
};
