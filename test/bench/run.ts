// `npm run bench` (docs/contributing/benchmarks.md): every figure against a baseline measured in the same run, printed as a
// table and written to bench/results.json. Never part of `npm test`: figures are not assertions.
//
//   requestsPerNotice     requests.ts / naive.ts   AWS requests per delivered notice, vs the naive design: a batch
//                                                  arriving as it really does (the intake's spread, the poller's
//                                                  batches), judged; and in full batches (.fullBatches), printed
//   awsCostPer1000        cost.ts                  dollars per 1,000 notices besides SES, vs the naive design, alike
//   localThroughputRatio  throughput.ts            npm start's pipeline vs nodemailer's own pool, same sink
//   smtpDoorRatio         smtp-door.ts             notices accepted through the SMTP door vs a plain smtp-server sink
//   sweepScaling          sweep-scaling.ts         items a sweep reads, 100,000 kept vs 1,000 kept
//   bundleBytes           bundles.ts               each minified Lambda bundle vs 1 MB
//   coldInitRatio         bundles.ts               loading each bundle vs starting bare node (alone: npm run cold-init)
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { startDynamo } from '../../infra/local/emulators';
import { startTestQueue } from '../support/emulators';
import { measureBundles } from './bundles';
import { type CostBreakdown, costPer1000, PLATFORM_LOG_BYTES_PER_INVOCATION, PRICES, requestUnits, writeCostsPer1000 } from './cost';
import { billedRequests, totalRequests } from './counting';
import { type ContentCodecs, measureContentCodecs } from './content-codec';
import { measureNaive } from './naive';
import { type Emulators, type HappyPath, measureOurs } from './requests';
import { startCountingSink } from './sink';
import { measureSweepScaling } from './sweep-scaling';
import { measureSmtpDoor, SMTP_DOOR_WARM_UP, type SmtpDoorRun } from './smtp-door';
import { measureThroughput, type ThroughputRun, WARM_UP } from './throughput';
import { type Arrival, FULL_BATCHES, progress } from './workload';

const HAPPY_PATH_NOTICES = 500;
/**
 * A night's batch as it arrives: posted in one request with the configuration's default intake spread,
 * and handed to the sender as the event source mapping finds the doorbells (its default concurrency and
 * batching window). The figures that count AWS requests and dollars are judged on it.
 */
const REAL_ARRIVAL: Arrival = { batchSize: 10 };
/**
 * Capacity's arrival: every doorbell visible at once, so every invocation gets a full batch; one sender at
 * a time, so that each invocation's duration is its own (a Lambda sandbox runs one invocation at a time).
 */
const FULL_BATCH_ARRIVAL: Arrival = { ...FULL_BATCHES, batchSize: 10, concurrency: 1 };
const REQUESTS_GOAL = 3.0;
const COST_GOAL_DOLLARS = 0.005;
const THROUGHPUT_NOTICES = 2000;
const THROUGHPUT_BATCH = 500;
const THROUGHPUT_CONCURRENCIES = [4, 8];
const COLD_INIT_RUNS = 20;
const SMTP_DOOR_MESSAGES = 400;
const SMTP_DOOR_CONNECTIONS = 8;
/** The door should take messages at least as fast as a key may send them by default: 600 a minute. */
const SMTP_DOOR_GOAL_PER_SECOND = 10;
/** Lambda's deployment limits are in MB of 2^20 bytes; the goal is read the same way. */
const ONE_MB = 1024 * 1024;

interface Figure {
  figure: string;
  ours: number;
  baseline: number;
  /** ours ÷ baseline. */
  ratio: number;
  unit: string;
  baselineIs: string;
  goal: string;
  met: boolean;
  /** false: printed beside a judged figure, for comparison, with no goal of its own. */
  judged?: false;
}

const round = (value: number, digits = 4) => Number(value.toPrecision(digits));

const perNotice = (run: HappyPath) =>
  Object.fromEntries(
    Object.entries(billedRequests(run.counts))
      .sort(([, a], [, b]) => b - a)
      .map(([name, n]) => [name, round(n / run.notices)]),
  );

const describeRequests = (run: HappyPath) =>
  Object.entries(perNotice(run))
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');

const money = (dollars: number) => `$${dollars.toFixed(5)}`;

/** Each part in dollars and as a share of the total: `dynamoWrites $0.00688 (88%), …, total $0.00778`. */
const describeCost = (cost: CostBreakdown) =>
  Object.entries(cost)
    .map(([name, dollars]) => (name === 'total' ? `total ${money(dollars)}` : `${name} ${money(dollars)} (${((dollars / cost.total) * 100).toFixed(0)}%)`))
    .join(', ');

const describeUnits = (run: HappyPath) => {
  const units = requestUnits(run.counts);
  return `${round(run.counts.writeUnits / run.notices)} WRU table (reported) + ${round(run.counts.indexWriteUnits / run.notices)} WRU indexes (ESTIMATED) + ${round(units.read / run.notices)} RRU`;
};

/**
 * `UpdateItem outcome 1 WRU + due 1 (607 B each) $0.00125, …`: the write units per notice by what writes
 * them, with the BatchWriteItem's per-item estimates checked against what DynamoDB reported for it.
 */
const describeWrites = (run: HappyPath) => {
  const kinds = writeCostsPer1000(run).map((write) => {
    const indexes = Object.entries(write.indexUnits).map(([index, n]) => ` + ${index} ${round(n)}`).join('');
    const size = write.bytesEach ? `, ${write.bytesEach.toFixed(0)} B each` : '';
    return `${write.kind} ${round(write.tableUnits)}${indexes} (${round(write.itemsPerNotice)} a notice${size}) ${money(write.dollarsPer1000)}`;
  });
  const estimated = Object.entries(run.counts.writesBy)
    .filter(([kind]) => kind.startsWith('BatchWriteItem '))
    .reduce((sum, [, share]) => sum + share.tableUnits, 0);
  return `${kinds.join('; ')} (BatchWriteItem's table units split by item size: ${round(estimated / run.notices)} a notice, against ${round(run.counts.batchWriteReportedUnits / run.notices)} reported)`;
};

const describeArrival = (run: HappyPath) => {
  const arrival = run.arrival;
  if (!arrival) return 'as the run had it';
  return `intake.spreadSeconds ${arrival.spreadSeconds}, sender.batchSize ${arrival.batchSize}, sender.concurrency ${arrival.concurrency}, sender.batchingWindowSeconds ${arrival.batchingWindowSeconds}; ${run.notices} notices handled in ${(run.elapsedMs / 1000).toFixed(0)} s`;
};

/** `10×48, 2×1`: invocations by the number of doorbells they were handed. */
const describeBatches = (run: HappyPath) => {
  const sizes = Object.entries(run.batchSizes);
  const invocations = sizes.reduce((sum, [, n]) => sum + n, 0);
  const doorbells = sizes.reduce((sum, [size, n]) => sum + Number(size) * n, 0);
  return `${sizes.map(([size, n]) => `${size}×${n}`).join(', ')} (${invocations} invocations, ${(doorbells / Math.max(1, invocations)).toFixed(2)} doorbells each)`;
};

/**
 * The wire's count against the middleware's, by service: equal when every client is counted; the wire
 * may be short by the few requests still being signed when the count froze, and long by retries or by a
 * client the middleware never saw (those are billed, and the figures count them).
 */
const wireCheck = (run: HappyPath) =>
  ['DynamoDB', 'SQS']
    .map((service) => {
      const sum = (counts: Record<string, number>) => Object.entries(counts).reduce((total, [name, n]) => total + (name.startsWith(`${service}.`) ? n : 0), 0);
      return `${service} ${sum(run.counts.wire)} on the wire / ${sum(run.counts.requests)} by middleware`;
    })
    .join(', ');

const cell = (figure: Figure, value: number) => {
  if (figure.unit === '$') return money(value);
  if (figure.unit === 'bytes') return `${(value / 1024).toFixed(0)} KiB`;
  if (figure.unit === 'ms') return `${value.toFixed(1)} ms`;
  if (figure.unit === 'notices/s') return `${value.toFixed(1)}/s`;
  return String(round(value));
};

const printTable = (figures: Figure[]) => {
  const rows = [
    ['figure', 'ours', 'baseline', 'ratio', 'goal', 'met'],
    ...figures.map((f) => [f.figure, cell(f, f.ours), `${cell(f, f.baseline)} (${f.baselineIs})`, f.ratio.toFixed(3), f.goal, f.judged === false ? '-' : f.met ? 'met' : 'MISSED']),
  ];
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] as string).length))) ?? [];
  const line = (row: string[]) => row.map((text, column) => text.padEnd(widths[column] ?? 0)).join(' | ').trimEnd();
  console.log(line(rows[0] as string[]));
  console.log(widths.map((width) => '-'.repeat(width)).join('-|-'));
  for (const row of rows.slice(1)) console.log(line(row));
};

/**
 * `NOTICE_RELAY_BENCH_ONLY=cost npm run bench`: only requestsPerNotice and awsCostPer1000 (about two
 * minutes), printed and not written to bench/results.json, whose figures stay those of one whole run.
 */
const BENCH_PARTS = ['cost'] as const;
const onlyPart = (value: string | undefined): (typeof BENCH_PARTS)[number] | undefined => {
  if (value === undefined || value === '') return undefined;
  const part = BENCH_PARTS.find((name) => name === value);
  if (!part) throw new Error(`bench: NOTICE_RELAY_BENCH_ONLY must be one of ${BENCH_PARTS.join(', ')}, not "${value}"`);
  return part;
};

/** The happy path of ours (as it arrives and in full batches) and the naive design's, on one dynalite and fauxqs. */
interface RequestRuns {
  ours: HappyPath;
  oursFull: HappyPath;
  naive: HappyPath;
  /** The compression of the content items, measured beside them. */
  codecs: ContentCodecs;
}

const measureRequests = async (emulators: Emulators): Promise<RequestRuns> => {
  progress(`requests: ours, ${HAPPY_PATH_NOTICES} notices in full batches (one intake batch → sender → recorded)`);
  const oursFull = await measureOurs(emulators, HAPPY_PATH_NOTICES, FULL_BATCH_ARRIVAL, 'full');
  progress(`requests: ours, ${HAPPY_PATH_NOTICES} notices as they arrive (the intake's default spread, the poller's batches)`);
  const ours = await measureOurs(emulators, HAPPY_PATH_NOTICES, REAL_ARRIVAL, 'arriving');
  progress(`requests: the naive design, ${HAPPY_PATH_NOTICES} notices`);
  const naive = await measureNaive(emulators, HAPPY_PATH_NOTICES);
  progress('content items: raw DEFLATE and brotli on the notices\' text and HTML');
  return { ours, oursFull, naive, codecs: measureContentCodecs() };
};

/** The figures of requests and cost. */
const requestFigures = ({ ours, oursFull, naive }: RequestRuns): Figure[] => {
  const oursCost = costPer1000(ours);
  const oursFullCost = costPer1000(oursFull);
  const naiveCost = costPer1000(naive);
  const oursRequests = totalRequests(ours.counts) / ours.notices;
  const oursFullRequests = totalRequests(oursFull.counts) / oursFull.notices;
  const naiveRequests = totalRequests(naive.counts) / naive.notices;
  return [
    { figure: 'requestsPerNotice', ours: oursRequests, baseline: naiveRequests, ratio: oursRequests / naiveRequests, unit: '', baselineIs: 'naive', goal: `ours ≤ ${REQUESTS_GOAL.toFixed(1)}`, met: oursRequests <= REQUESTS_GOAL },
    { figure: 'requestsPerNotice.fullBatches', ours: oursFullRequests, baseline: naiveRequests, ratio: oursFullRequests / naiveRequests, unit: '', baselineIs: 'naive', goal: 'not judged', met: true, judged: false },
    { figure: 'awsCostPer1000', ours: oursCost.total, baseline: naiveCost.total, ratio: oursCost.total / naiveCost.total, unit: '$', baselineIs: 'naive', goal: `ours ≤ ${money(COST_GOAL_DOLLARS)}`, met: oursCost.total <= COST_GOAL_DOLLARS },
    { figure: 'awsCostPer1000.fullBatches', ours: oursFullCost.total, baseline: naiveCost.total, ratio: oursFullCost.total / naiveCost.total, unit: '$', baselineIs: 'naive', goal: 'not judged', met: true, judged: false },
  ];
};

/** The notes on where the requests and the money go. */
const requestNotes = ({ ours, oursFull, naive, codecs }: RequestRuns): string[] => {
  const oursCost = costPer1000(ours);
  const oursFullCost = costPer1000(oursFull);
  const naiveCost = costPer1000(naive);
  const naiveUnits = requestUnits(naive.counts);
  return [
    `requests: counted by middleware on the handlers' real SDK clients (DynamoDB, SQS, SES) against dynalite and fauxqs, including the event source mapping's ReceiveMessage/DeleteMessageBatch (the poller is given the counted SQS client), and again on the wire: every HTTP request this process sent to dynalite and fauxqs, whichever client sent it, retries included (what AWS bills, and what the figures use); plus 1 API Gateway request per HTTP request. Counting stops at the ${HAPPY_PATH_NOTICES}th doorbell deleted, so idle polls after it are not counted.`,
    `arrival, judged: ${describeArrival(ours)}; sender invocations by doorbells handed: ${describeBatches(ours)}. Full batches: ${describeArrival(oursFull)}; ${describeBatches(oursFull)}.`,
    `requests per notice, ours as they arrive: ${describeRequests(ours)}.`,
    `requests per notice, ours in full batches: ${describeRequests(oursFull)}.`,
    `requests per notice, naive: ${describeRequests(naive)}.`,
    `wire against middleware (requests, whole run): ${[ours, oursFull, naive].map((run, i) => `${['as they arrive', 'full batches', 'naive'][i]} ${wireCheck(run)}`).join('; ')}.`,
    `DynamoDB units per notice, ours as they arrive: ${describeUnits(ours)}; in full batches: ${describeUnits(oursFull)}; naive: ${round(naiveUnits.write / naive.notices)} WRU + ${round(naiveUnits.read / naive.notices)} RRU (no index).`,
    `write units per notice by what writes them (table + indexes, per 1,000 notices in dollars), ours as they arrive: ${describeWrites(ours)}.`,
    `the same in full batches: ${describeWrites(oursFull)}.`,
    `content items: the text and HTML of the bench's notices, ${codecs.plainBytes.toFixed(0)} bytes as JSON, are stored as ${codecs.storedBytes.toFixed(0)} bytes (raw DEFLATE at zlib's default level), so the item takes one write unit, not two. CPU per notice, compressing once and decompressing at each read, against the bytes left (test/bench/content-codec.ts): ${codecs.codecs.map((run) => `${run.codec} ${run.bytes.toFixed(0)} B, ${run.compressMicros.toFixed(0)} + ${run.decompressMicros.toFixed(0)} µs`).join('; ')}.`,
    'index write units are ESTIMATED here (dynalite reports table capacity only): indexes are KEYS_ONLY, 1 unit per entry; a put writes one entry per index whose keys it carries (instKey always, extKey with an externalId, dueShard/dueAt with a sweepAt); an UpdateItem that SETs the due keys moves the entry (2), one that REMOVEs them deletes it (1). A Query that reports 0 units is billed 0.5.',
    `cost per 1,000, ours as they arrive: ${describeCost(oursCost)}.`,
    `cost per 1,000, ours in full batches: ${describeCost(oursFullCost)}.`,
    `cost per 1,000, naive: ${describeCost(naiveCost)}.`,
    `cost: prices us-east-1 on-demand (DynamoDB $${PRICES.dynamoWriteRequestUnit * 1e6}/M WRU, $${PRICES.dynamoReadRequestUnit * 1e6}/M RRU; SQS $${PRICES.sqsRequest * 1e6}/M; Lambda arm64 $${PRICES.lambdaGbSecondArm64}/GB-s, $${PRICES.lambdaRequest * 1e6}/M; API Gateway REST $${PRICES.apiGatewayRestRequest * 1e6}/M; Logs $${PRICES.logsIngestionPerGb}/GB), no free tier, SES's $0.10 left out. Lambda durations are each invocation's wall time here (against the emulators, rounded up to 1 ms; in full batches one at a time, as they arrive as many at once as the poller's lanes) × memory (as they arrive: intake 512 MB ${ours.functions.intake?.invocations} invocation(s) ${ours.functions.intake?.billedMs} ms, sender 512 MB ${ours.functions.sender?.invocations} invocations ${ours.functions.sender?.billedMs} ms; full batches: sender ${oursFull.functions.sender?.invocations} invocations ${oursFull.functions.sender?.billedMs} ms; naive sender ${naive.functions.sender?.invocations} invocations ${naive.functions.sender?.billedMs} ms). Logs: the Powertools lines written at INFO (${ours.logBytes} bytes for ${ours.notices} notices as they arrive) + an estimated ${PLATFORM_LOG_BYTES_PER_INVOCATION} bytes of START/END/REPORT per invocation; the naive design logs nothing of its own. Not per notice, so left out: the sweep's schedule (one invocation a minute whatever the volume), cold-start init, idle polls of the event source mapping.`,
  ];
};

const main = async () => {
  const startedAt = new Date();
  const started = performance.now();
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const only = onlyPart(process.env.NOTICE_RELAY_BENCH_ONLY);

  // 1. requestsPerNotice and awsCostPer1000: ours and the naive design, same emulators, same sink.
  progress('starting dynalite, fauxqs and the SMTP sink');
  const sink = await startCountingSink();
  let runs: Awaited<ReturnType<typeof measureRequests>>;
  let sweep: Awaited<ReturnType<typeof measureSweepScaling>>;
  const throughput: ThroughputRun[] = [];
  try {
    const dynamo = await startDynamo();
    const queue = await startTestQueue('bench-setup');
    let dynamoStopped = false;
    try {
      runs = await measureRequests({ dynamodb: dynamo.url, sqs: queue.url, smtp: { host: sink.host, port: sink.port } });
      await dynamo.stop();
      dynamoStopped = true;
      if (only === 'cost') {
        printTable(requestFigures(runs));
        console.log('');
        for (const note of requestNotes(runs)) console.log(`- ${note}`);
        console.log(`\nOnly requests and cost (NOTICE_RELAY_BENCH_ONLY=cost), not written to bench/results.json; took ${((performance.now() - started) / 1000).toFixed(0)} s.`);
        return;
      }
      // 2. sweepScaling, on a dynalite of its own.
      progress('sweep: 10 due notices among 1,000 kept');
      sweep = await measureSweepScaling(queue.url);
    } finally {
      if (!dynamoStopped) await dynamo.stop();
      await queue.stop();
    }
    // 3. localThroughputRatio, with nothing else running.
    for (const concurrency of THROUGHPUT_CONCURRENCIES) throughput.push(await measureThroughput(sink, { notices: THROUGHPUT_NOTICES, batchSize: THROUGHPUT_BATCH, concurrency }));
  } finally {
    await sink.stop();
  }
  const { ours, oursFull, naive } = runs;
  const bestThroughput = throughput.reduce((best, run) => (run.ratio > best.ratio ? run : best));

  // 4. smtpDoorRatio, with nothing else running.
  const smtpDoor: SmtpDoorRun = await measureSmtpDoor(SMTP_DOOR_MESSAGES, SMTP_DOOR_CONNECTIONS);

  // 5. bundleBytes and coldInitRatio.
  const bundles = measureBundles(COLD_INIT_RUNS);
  const largest = bundles.bundles.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const slowest = bundles.bundles.reduce((a, b) => (b.coldInitRatio > a.coldInitRatio ? b : a));

  const oursCost = costPer1000(ours);
  const oursFullCost = costPer1000(oursFull);
  const naiveCost = costPer1000(naive);

  const figures: Figure[] = [
    ...requestFigures(runs),
    {
      figure: 'localThroughputRatio',
      ours: bestThroughput.pipeline.perSecond,
      baseline: bestThroughput.raw.perSecond,
      ratio: bestThroughput.ratio,
      unit: 'notices/s',
      baselineIs: `nodemailer pool ×${bestThroughput.concurrency}`,
      goal: 'ratio ≥ 0.5',
      met: bestThroughput.ratio >= 0.5,
    },
    {
      figure: 'smtpDoorRatio',
      ours: smtpDoor.door.perSecond,
      baseline: smtpDoor.sink.perSecond,
      ratio: smtpDoor.ratio,
      unit: 'notices/s',
      baselineIs: `smtp-server sink ×${smtpDoor.concurrency}`,
      goal: `ours ≥ ${SMTP_DOOR_GOAL_PER_SECOND}/s`,
      met: smtpDoor.door.perSecond >= SMTP_DOOR_GOAL_PER_SECOND,
    },
    { figure: 'sweepScaling', ours: sweep.large.itemsRead, baseline: sweep.small.itemsRead, ratio: sweep.ratio, unit: 'items', baselineIs: '1,000 kept', goal: 'ratio ≤ 1.1', met: sweep.ratio <= 1.1 },
    ...bundles.bundles.map((bundle) => ({
      figure: `bundleBytes.${bundle.handler}`,
      ours: bundle.bytes,
      baseline: ONE_MB,
      ratio: bundle.bytes / ONE_MB,
      unit: 'bytes',
      baselineIs: '1 MB',
      goal: '≤ 1 MB',
      met: bundle.bytes <= ONE_MB,
    })),
    ...bundles.bundles.map((bundle) => ({
      figure: `coldInitRatio.${bundle.handler}`,
      ours: bundle.initMs,
      baseline: bundles.bareNodeMs,
      ratio: bundle.coldInitRatio,
      unit: 'ms',
      baselineIs: 'bare node',
      goal: 'ratio ≤ 2',
      met: bundle.coldInitRatio <= 2,
    })),
  ];

  const sentRate = (run: ThroughputRun) => (run.pipeline.notices * 1000) / (run.pipeline.ms - run.pipeline.firstMessageMs);
  // The sender's own DynamoDB requests (the intake's are BatchWriteItem) against the time its lanes had.
  const senderDynamoShare = (run: ThroughputRun) => {
    const waits = run.pipeline.requests.waitMs;
    const sender = ['DynamoDB.UpdateItem', 'DynamoDB.BatchGetItem', 'DynamoDB.GetItem'].reduce((sum, name) => sum + (waits[name] ?? 0), 0);
    return sender / (run.pipeline.ms * run.concurrency);
  };
  const notes = [
    ...requestNotes(runs),
    `throughput: ${THROUGHPUT_NOTICES} notices POSTed as ${THROUGHPUT_NOTICES / THROUGHPUT_BATCH} batches of ${THROUGHPUT_BATCH} to startLocal's API, timed from the first POST to the last message at a counting SMTP sink; baseline nodemailer's pool with as many connections sending the same messages to the same sink; ${WARM_UP} warm-up messages each, not timed. Figure at sender concurrency ${bestThroughput.concurrency} (the better of ${THROUGHPUT_CONCURRENCIES.join(' and ')}).`,
    ...throughput.map(
      (run) =>
        `throughput at concurrency ${run.concurrency}: pipeline ${run.pipeline.perSecond.toFixed(1)}/s (intake of all ${run.pipeline.notices} ${run.pipeline.intakeMs.toFixed(0)} ms, first message at ${run.pipeline.firstMessageMs.toFixed(0)} ms, sending ${sentRate(run).toFixed(1)}/s, ${run.pipeline.invocations} sender invocations, ${run.pipeline.connections} SMTP connections; process CPU ${run.pipeline.load.cpuShare.toFixed(2)} cores, event loop ${(run.pipeline.load.eventLoopUtilization * 100).toFixed(0)}% busy; waiting for UpdateItem/BatchGetItem/GetItem answers took ${(senderDynamoShare(run) * 100).toFixed(0)}% of the sender lanes' time) vs raw ${run.raw.perSecond.toFixed(1)}/s (CPU ${run.raw.load.cpuShare.toFixed(2)}, event loop ${(run.raw.load.eventLoopUtilization * 100).toFixed(0)}%): ratio ${run.ratio.toFixed(3)}.`,
    ),
    `throughput ceiling: npm start runs every handler on one JavaScript thread, and each AWS request costs that thread the SDK's own work (an UpdateItem like the sender's, measured on the runtime's client after the run: ${bestThroughput.ceiling.sdkBusyMsPerRequest.toFixed(3)} ms busy). With ${bestThroughput.ceiling.requestsPerNotice.toFixed(2)} requests per notice on top of raw's ${bestThroughput.ceiling.rawBusyMsPerNotice.toFixed(3)} ms per message, no pipeline on this thread passes ${bestThroughput.ceiling.perSecond.toFixed(0)}/s: ratio ${bestThroughput.ceiling.ratio.toFixed(3)} at best; this run reached ${((bestThroughput.ratio / bestThroughput.ceiling.ratio) * 100).toFixed(0)}% of it. Spread over more threads it would still need the CPU it uses: ${bestThroughput.ceiling.cpuMsPerNotice.toFixed(2)} ms per notice across all of the process's threads (dynalite's included), which on ${bestThroughput.ceiling.cores} cores, perfectly shared, is ${bestThroughput.ceiling.allCoresPerSecond.toFixed(0)}/s, ratio ${bestThroughput.ceiling.allCoresRatio.toFixed(3)}.`,
    `smtp door: ${SMTP_DOOR_MESSAGES} messages (the throughput's notices, text and HTML, a Message-ID and X-Notice-* headers each) sent by one nodemailer pool of ${SMTP_DOOR_CONNECTIONS} connections, timed from the first to the last reply after ${SMTP_DOOR_WARM_UP} warm-up messages each: to the SMTP door (from this machine, without a login: the institution's allowFrom; each 250 given once the notices are in dynalite and their doorbells in fauxqs, the sender not running) ${smtpDoor.door.perSecond.toFixed(1)}/s, and to a plain smtp-server sink that keeps nothing ${smtpDoor.sink.perSecond.toFixed(1)}/s: ratio ${smtpDoor.ratio.toFixed(3)}. The door's AWS requests per message: ${Object.entries(smtpDoor.requestsPerMessage).map(([name, n]) => `${name} ${n}`).join(', ')} (the key's rate counter, the Idempotency-Key claimed and completed, the notices, their doorbells), each on the one thread the door, the client and dynalite share here; the goal is the key's default rate (intake.requestsPerMinutePerKey, 600 a minute), which an ILS cannot pass anyway.`,
    `sweep: ${sweep.small.due} due notices among ${sweep.small.kept} kept read ${sweep.small.itemsRead} items (Query + BatchGetItem; ScannedCount ${sweep.small.scannedCount}, ${sweep.small.readUnits} RRU, ${sweep.small.ms.toFixed(0)} ms); among ${sweep.large.kept} kept, ${sweep.large.itemsRead} items (ScannedCount ${sweep.large.scannedCount}, ${sweep.large.readUnits} RRU, ${sweep.large.ms.toFixed(0)} ms). Filling took ${(sweep.fillMs / 1000).toFixed(0)} s.`,
    `bundles: from a cdk synth of config/example.json (esbuild, minified; ${(bundles.synthMs / 1000).toFixed(0)} s); largest ${largest.handler} ${largest.bytes} bytes = ${(largest.bytes / ONE_MB).toFixed(3)} MB (1 MB = ${ONE_MB} bytes), of which ${largest.largestInputs.map((input) => `${input.name} ${(input.bytes / 1024).toFixed(0)} KiB`).join(', ')}.`,
    `cold init: median of ${bundles.runs} runs of node -e "require(bundle)" with the handler's environment, each divided by a node -e "" started just before it (median ${bundles.bareNodeMs.toFixed(1)} ms), so that a change in the machine's load between runs touches both sides alike; worst ${slowest.handler} ${slowest.coldInitRatio.toFixed(2)}×. The floor under every handler: a bundle of only the DynamoDB and SQS clients (${(bundles.sdkOnly.bytes / 1024).toFixed(0)} KiB, built alike) loads in ${bundles.sdkOnly.initMs.toFixed(1)} ms, ${bundles.sdkOnly.ratio.toFixed(2)}× bare node; each bundle's load beyond it, in bare node's time: ${bundles.bundles.map((bundle) => `${bundle.handler} ${((bundle.coldInitRatio - bundles.sdkOnly.ratio) * bundles.bareNodeMs).toFixed(0)} ms`).join(', ')}. Node's start plus reading and compiling the bundle without running it (vm.Script): ${bundles.bundles.map((bundle) => `${bundle.handler} ${bundle.compileMs.toFixed(0)} ms`).join(', ')}; the rest of each load is running the modules' top level (building the SDK clients, schemas and configuration) and compiling what that calls.`,
    `cold init, what the bundling leaves out: the SDK parts a function on Lambda never loads, each behind a dynamic import() (the credential providers after the environment's, the event-stream code), stay out of every bundle (SDK_PARTS_LAMBDA_NEVER_LOADS in infra/cdk/constructs/functions.ts). Bundled, each import() makes esbuild wrap every module it reaches, most of @smithy/core, in a function run at load, compiled twice: the same DynamoDB and SQS clients with those parts in (${(bundles.sdkOnlyWithLazyParts.bytes / 1024).toFixed(0)} KiB) load in ${bundles.sdkOnlyWithLazyParts.initMs.toFixed(1)} ms, ${bundles.sdkOnlyWithLazyParts.ratio.toFixed(2)}×. The project's modules are declared free of side effects (package.json sideEffects), so a function's bundle drops the builders in shared/deps.ts it never calls and what they import (nodemailer and the webhook poster left the sweep, the feedback and the digest), and the digest and the console's settings take their limits and provider names from modules without zod. What a function's first event may not need waits for its first use, still in the bundle but not run at load: the SMTP client and DKIM signer until an institution first sends through its own servers (shared/transport/factory.ts), the MIME composer in the console and the transport function until the first Test Server run (shared/transport/desk.ts), the intake's OpenAPI document until the first request for it. Each function still builds at load the clients, logger and configuration its first event needs.`,
    `cold init, what remains and why: every function answers its first event with DynamoDB (most with SQS too), so it builds those clients as it loads; loading them later would only move the same time into the first invocation, which a cold start waits for all the same. Their load alone is ${bundles.sdkOnly.ratio.toFixed(2)}× bare node, so no function that uses them can meet a goal of 2× by much, if at all. Beside them, each alone, built and timed alike: ${bundles.floors.map((floor) => `${floor.name} ${(floor.bytes / 1024).toFixed(0)} KiB ${floor.initMs.toFixed(1)} ms, ${floor.ratio.toFixed(2)}× (in ${floor.carriedBy.join(', ') || 'no function'})`).join('; ')}. Of nodemailer, the sender runs at load only the MIME composer and its table of media types, which compose every message, SES's too; its SMTP client and DKIM signer (about 46 KiB), and in the console and the transport function the composer as well, run only when first used. zod checks the API's requests, the Test Server's and the console's Activity filters, which each function's first request needs; the validators are written in zod/mini, its functional form, timed beside the full API they were written in before. Measured and left: ES module output (no smaller, as the packages' ES builds are already tree-shaken, and slower to load through import()).`,
  ];

  const durationSeconds = (performance.now() - started) / 1000;
  console.log('');
  printTable(figures);
  console.log('');
  for (const note of notes) console.log(`- ${note}`);
  const judged = figures.filter((f) => f.judged !== false);
  console.log(`\n${judged.filter((f) => f.met).length} of ${judged.length} goals met; bench took ${durationSeconds.toFixed(0)} s.`);

  const results = {
    date: startedAt.toISOString(),
    machine: { cpuModel: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, memoryGiB: round(totalmem() / 1024 ** 3, 3), node: process.version, platform: `${platform()} ${release()}` },
    durationSeconds: round(durationSeconds),
    figures: Object.fromEntries(figures.map(({ figure, ...rest }) => [figure, { ...rest, ours: round(rest.ours, 6), baseline: round(rest.baseline, 6), ratio: round(rest.ratio) }])),
    summary: {
      largestBundle: { handler: largest.handler, bytes: largest.bytes, ofOneMb: round(largest.bytes / ONE_MB) },
      worstColdInit: { handler: slowest.handler, ratio: round(slowest.coldInitRatio) },
    },
    details: {
      requests: {
        ours: { perNotice: perNotice(ours), ...ours, counts: { ...ours.counts, waitMs: undefined } },
        oursFullBatches: { perNotice: perNotice(oursFull), ...oursFull, counts: { ...oursFull.counts, waitMs: undefined } },
        naive: { perNotice: perNotice(naive), ...naive, counts: { ...naive.counts, waitMs: undefined } },
      },
      cost: {
        prices: PRICES,
        platformLogBytesPerInvocation: PLATFORM_LOG_BYTES_PER_INVOCATION,
        ours: oursCost,
        oursFullBatches: oursFullCost,
        naive: naiveCost,
        writesPerNotice: { ours: writeCostsPer1000(ours), oursFullBatches: writeCostsPer1000(oursFull), naive: writeCostsPer1000(naive) },
        contentCodecs: runs.codecs,
      },
      throughput,
      smtpDoor,
      sweep,
      bundles,
    },
    notes,
  };
  const dir = join(__dirname, '..', '..', 'bench');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`Written to bench/results.json.`);
};

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
