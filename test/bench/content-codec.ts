// Which compression the content items use (shared/store/content-item.ts): the bench's notices' text and
// HTML compressed with raw DEFLATE and with brotli at a few levels, each timed in CPU per notice (compress
// once at intake, decompress at each read) against the bytes it leaves. Printed in the cost notes of
// `npm run bench`; alone with `npx tsx test/bench/content-codec.ts`.
import { brotliCompressSync, brotliDecompressSync, constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { contentAttributes, PACKED_ATTRIBUTE } from '../../shared/store/content-item';
import { benchNotices } from './workload';

export interface CodecRun {
  codec: string;
  /** Compressed bytes of a notice's text and HTML, on average. */
  bytes: number;
  /** CPU microseconds (user + system) to compress one notice's fields, and to decompress them. */
  compressMicros: number;
  decompressMicros: number;
}

export interface ContentCodecs {
  notices: number;
  /** The fields as JSON, uncompressed, on average. */
  plainBytes: number;
  /** The packed attribute the store writes, on average (a codec byte and raw DEFLATE at zlib's default level). */
  storedBytes: number;
  codecs: CodecRun[];
}

const NOTICES = 500;
const ROUNDS = 4;

const brotli = (quality: number) => (input: Buffer) =>
  brotliCompressSync(input, { params: { [constants.BROTLI_PARAM_QUALITY]: quality, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT, [constants.BROTLI_PARAM_SIZE_HINT]: input.length } });

const CODECS: Array<{ codec: string; compress: (input: Buffer) => Buffer; decompress: (input: Buffer) => Buffer }> = [
  { codec: 'deflateRaw level 1', compress: (input) => deflateRawSync(input, { level: 1 }), decompress: inflateRawSync },
  { codec: 'deflateRaw level 6 (default)', compress: (input) => deflateRawSync(input), decompress: inflateRawSync },
  { codec: 'deflateRaw level 9', compress: (input) => deflateRawSync(input, { level: 9 }), decompress: inflateRawSync },
  { codec: 'brotli quality 4', compress: brotli(4), decompress: brotliDecompressSync },
  { codec: 'brotli quality 6', compress: brotli(6), decompress: brotliDecompressSync },
  { codec: 'brotli quality 11 (default)', compress: brotli(11), decompress: brotliDecompressSync },
];

/** CPU microseconds `work` takes for each of `inputs`, the best of a few rounds (the machine is shared). */
const cpuMicrosEach = <T>(inputs: T[], work: (input: T) => unknown): number => {
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const before = process.cpuUsage();
    for (const input of inputs) work(input);
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / inputs.length);
  }
  return best;
};

export const measureContentCodecs = (): ContentCodecs => {
  const notices = benchNotices(NOTICES);
  const plain = notices.map((notice) => Buffer.from(JSON.stringify({ text: notice.text, html: notice.html }), 'utf8'));
  const average = (values: number[]) => values.reduce((sum, n) => sum + n, 0) / values.length;
  const codecs = CODECS.map(({ codec, compress, decompress }) => {
    const compressed = plain.map(compress);
    return { codec, bytes: average(compressed.map((out) => out.length)), compressMicros: cpuMicrosEach(plain, compress), decompressMicros: cpuMicrosEach(compressed, decompress) };
  });
  const stored = notices.map((notice) => contentAttributes({ to: notice.to, subject: notice.subject, text: notice.text, html: notice.html })[PACKED_ATTRIBUTE] as Uint8Array | undefined);
  return { notices: NOTICES, plainBytes: average(plain.map((input) => input.length)), storedBytes: average(stored.map((packed) => packed?.length ?? 0)), codecs };
};

if (require.main === module) {
  const measured = measureContentCodecs();
  console.log(`${measured.notices} bench notices, text and HTML: ${measured.plainBytes.toFixed(0)} bytes as JSON, ${measured.storedBytes.toFixed(0)} bytes as the store packs them`);
  for (const run of measured.codecs) console.log(`${run.codec.padEnd(28)} ${run.bytes.toFixed(0).padStart(5)} bytes  compress ${run.compressMicros.toFixed(1).padStart(6)} µs  decompress ${run.decompressMicros.toFixed(1).padStart(5)} µs`);
}
