// bundleBytes and coldInitRatio: each Lambda bundle as `cdk synth` builds it (minified by esbuild), and
// the time Node takes to load it (the handler's module initialisation: what a cold start adds to
// starting the runtime) divided by the time Node takes to start with nothing to load.
import { buildSync } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { BundleSize } from '../../infra/cdk/bundle-sizes';
import { SDK_PARTS_LAMBDA_NEVER_LOADS } from '../../infra/cdk/constructs/functions';
import { BUNDLES_MARK } from './synth-bundles';
import { progress } from './workload';

export interface Bundle {
  handler: string;
  bytes: number;
  /** Median ms of `node -e "require(bundle)"`. */
  initMs: number;
  /** Median ms of only reading and compiling the bundle (vm.Script), without running it. */
  compileMs: number;
  /** Median of each load ÷ the bare node start just before it. */
  coldInitRatio: number;
  /** The packages that weigh most in the bundle (esbuild's metafile), bytes in the output. */
  largestInputs: Array<{ name: string; bytes: number }>;
}

export interface Bundles {
  bundles: Bundle[];
  /** Median ms of `node -e ""`. */
  bareNodeMs: number;
  /** The floor under every handler: a bundle of only the DynamoDB and SQS clients, built and timed alike. */
  sdkOnly: Floor;
  /**
   * The same clients with the SDK parts behind its dynamic imports bundled in (the instance-metadata and
   * HTTP credential providers, the event-stream code), as the functions were built before: what leaving
   * them out saves, measured in the same run.
   */
  sdkOnlyWithLazyParts: Floor;
  /**
   * What the other heavy packages cost alone, built and timed alike: the SMTP stack (nodemailer) that the
   * functions which send or test a relay load, and zod, with which the API's functions check requests.
   */
  floors: Array<Floor & { name: string; carriedBy: string[] }>;
  runs: number;
  synthMs: number;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/** Wall time of one `node -e <code>` with exactly `env` (nothing inherited, so no loader of tsx's). */
const timeNode = (code: string, env: Record<string, string>): number => {
  const started = performance.now();
  const result = spawnSync(process.execPath, ['-e', code], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`bench: node -e ${code} failed: ${result.stderr.toString().slice(0, 500)}`);
  return ms;
};

/** What each handler reads from its environment when Lambda loads it (see shared/deps.ts). */
const handlerEnv = (bundlePath: string): Record<string, string> => ({
  PATH: process.env.PATH ?? '',
  NOTICE_RELAY_CONFIG: join(dirname(bundlePath), 'config.json'),
  NOTICE_RELAY_TABLE: 't',
  NOTICE_RELAY_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/q',
  NOTICE_RELAY_WEBHOOK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/w',
  NOTICE_RELAY_SECRET_ARNS: '{}',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'x',
  AWS_SECRET_ACCESS_KEY: 'x',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
});

/** bundleSizes() in a child process (see synth-bundles.ts). */
const synthesize = (): BundleSize[] => {
  const result = spawnSync(process.execPath, [require.resolve('tsx/cli'), join(__dirname, 'synth-bundles.ts')], {
    cwd: join(__dirname, '..', '..'),
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const line = result.stdout
    .toString()
    .split('\n')
    .find((text) => text.startsWith(BUNDLES_MARK));
  if (result.status !== 0 || !line) throw new Error(`bench: cdk synth failed (${result.status}): ${result.stderr.toString().slice(-2000)}`);
  return JSON.parse(line.slice(BUNDLES_MARK.length)) as BundleSize[];
};

export interface Floor {
  bytes: number;
  /** Median ms of loading it. */
  initMs: number;
  /** Median of each load ÷ the bare node start just before it. */
  ratio: number;
}

/** One load, and its ratio to the bare node start just before it. */
interface Timed {
  ms: number;
  ratio: number;
}

/** What every handler loads before any code of ours: the SDK clients, bundled as the CDK app bundles. */
const SDK_ONLY_ENTRY = `
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
export const clients = [DynamoDBDocumentClient.from(new DynamoDBClient({})), new SQSClient({})];
`;

/** The other packages that weigh in a cold start, each alone, as the handlers import them. */
const PACKAGE_FLOORS = [
  // What any HTTPS client needs of Node itself, and the SDK loads: no function that calls AWS loads less.
  {
    name: "node's https, crypto, stream, zlib",
    everyFunction: true,
    entry: `import * as https from 'node:https';\nimport * as crypto from 'node:crypto';\nimport * as stream from 'node:stream';\nimport * as zlib from 'node:zlib';\nimport * as os from 'node:os';\nimport * as fs from 'node:fs/promises';\nexport const modules = [https, crypto, stream, zlib, os, fs];`,
  },
  { name: 'nodemailer', entry: `import nodemailer from 'nodemailer';\nexport const transport = nodemailer.createTransport({ host: '127.0.0.1', port: 25 });` },
  // The request validators' form: zod's functional API, of which esbuild keeps only the parts used.
  { name: 'zod/mini', package: 'zod', entry: `import * as z from 'zod/mini';\nexport const schema = z.strictObject({ to: z.email(), subject: z.string().check(z.minLength(1)) });` },
  // The same schema in zod's full API, whose every schema type carries all its methods: what the validators would load in it.
  { name: 'zod (full API)', package: 'zod', minBytes: 60_000, entry: `import * as z from 'zod';\nexport const schema = z.strictObject({ to: z.email(), subject: z.string().min(1) });` },
];

/** The SDK parts the bundles once carried: each behind a dynamic import(), which makes esbuild wrap every module it reaches. */
const LAZY_SDK_PARTS = ['@aws-sdk/credential-provider-http', '@smithy/credential-provider-imds', '@smithy/core/event-streams'];

const buildAlone = (entry: string, external = SDK_PARTS_LAMBDA_NEVER_LOADS): string => {
  const outfile = join(mkdtempSync(join(tmpdir(), 'notice-relay-floor-')), 'index.js');
  // The options of infra/cdk/constructs/functions.ts.
  buildSync({
    stdin: { contents: entry, resolveDir: join(__dirname, '..', '..'), loader: 'ts' },
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    mainFields: ['module', 'main'],
    minify: true,
    outfile,
    external,
    logLevel: 'error',
  });
  return outfile;
};

/** Output bytes by package (or by top folder of ours), from the index.meta.json esbuild writes beside the bundle. */
const largestInputs = (bundlePath: string, top = 6): Array<{ name: string; bytes: number }> => {
  const metaPath = join(dirname(bundlePath), 'index.meta.json');
  if (!existsSync(metaPath)) return [];
  const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as { outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }> };
  const bytes = new Map<string, number>();
  for (const output of Object.values(meta.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? input.split('/')[0] ?? input;
      bytes.set(name, (bytes.get(name) ?? 0) + bytesInOutput);
    }
  }
  return [...bytes]
    .sort(([, a], [, b]) => b - a)
    .slice(0, top)
    .map(([name, size]) => ({ name, bytes: size }));
};

export const measureBundles = (runs: number): Bundles => {
  progress('bundles: cdk synth (esbuild, minified)');
  const synthStarted = performance.now();
  const sizes = synthesize();
  const synthMs = performance.now() - synthStarted;
  try {
    progress(`bundles: cold init, ${runs} runs each, alternating with bare node`);
    const bareEnv = { PATH: process.env.PATH ?? '' };
    const sdkOnlyPath = buildAlone(SDK_ONLY_ENTRY);
    const sdkOnlyBytes = statSync(sdkOnlyPath).size;
    const sdkWithLazyPath = buildAlone(SDK_ONLY_ENTRY, SDK_PARTS_LAMBDA_NEVER_LOADS.filter((part) => !LAZY_SDK_PARTS.includes(part)));
    const sdkWithLazyBytes = statSync(sdkWithLazyPath).size;
    const floorPaths = PACKAGE_FLOORS.map((floor) => buildAlone(floor.entry));
    const floorBytes = floorPaths.map((path) => statSync(path).size);
    const bare: number[] = [];
    /**
     * Starts bare node, then loads: each load's ratio is to the bare start just before it, so a change in
     * the machine's load between rounds (others' work on a shared machine) touches both sides alike.
     */
    const paired = (code: string, env: Record<string, string>): Timed => {
      const bareMs = timeNode('', bareEnv);
      bare.push(bareMs);
      const ms = timeNode(code, env);
      return { ms, ratio: ms / bareMs };
    };
    const sdkOnly: Timed[] = [];
    const sdkWithLazy: Timed[] = [];
    const floorTimes = PACKAGE_FLOORS.map((): Timed[] => []);
    const loaded = new Map<string, Timed[]>(sizes.map((size) => [size.handler, []]));
    const compiled = new Map<string, number[]>(sizes.map((size) => [size.handler, []]));
    for (let run = 0; run < runs; run++) {
      for (const size of sizes) {
        loaded.get(size.handler)?.push(paired(`require(${JSON.stringify(size.path)})`, handlerEnv(size.path)));
        // What reading and compiling the bytes costs alone; the rest of initMs is running the module's top level.
        compiled.get(size.handler)?.push(timeNode(`new (require('node:vm').Script)(require('node:fs').readFileSync(${JSON.stringify(size.path)}, 'utf8'))`, bareEnv));
      }
      sdkOnly.push(paired(`require(${JSON.stringify(sdkOnlyPath)})`, handlerEnv(sdkOnlyPath)));
      sdkWithLazy.push(paired(`require(${JSON.stringify(sdkWithLazyPath)})`, handlerEnv(sdkWithLazyPath)));
      floorPaths.forEach((path, i) => floorTimes[i]?.push(paired(`require(${JSON.stringify(path)})`, bareEnv)));
    }
    const bareNodeMs = median(bare);
    const floorOf = (bytes: number, times: Timed[]): Floor => ({ bytes, initMs: median(times.map((t) => t.ms)), ratio: median(times.map((t) => t.ratio)) });
    for (const path of [sdkOnlyPath, sdkWithLazyPath, ...floorPaths]) rmSync(dirname(path), { recursive: true, force: true });
    const inputs = new Map(sizes.map((size) => [size.handler, largestInputs(size.path, Infinity)]));
    return {
      floors: PACKAGE_FLOORS.map((floor, i) => {
        return {
          name: floor.name,
          ...floorOf(floorBytes[i] ?? 0, floorTimes[i] ?? []),
          // A bundle carries the package when more than a few KiB of it are in (some carry a helper or two);
          // the full API of zod, when more than its functional form would take.
          carriedBy:
            'everyFunction' in floor
              ? sizes.map((size) => size.handler)
              : sizes
                  .filter((size) => (inputs.get(size.handler) ?? []).some((input) => input.name === (floor.package ?? floor.name) && input.bytes > (floor.minBytes ?? 10_000)))
                  .map((size) => size.handler),
        };
      }),
      bundles: sizes.map((size) => {
        const { initMs, ratio } = floorOf(size.bytes, loaded.get(size.handler) ?? []);
        return {
          handler: size.handler,
          bytes: size.bytes,
          initMs,
          compileMs: median(compiled.get(size.handler) ?? []),
          coldInitRatio: ratio,
          largestInputs: (inputs.get(size.handler) ?? []).slice(0, 6),
        };
      }),
      bareNodeMs,
      sdkOnly: floorOf(sdkOnlyBytes, sdkOnly),
      sdkOnlyWithLazyParts: floorOf(sdkWithLazyBytes, sdkWithLazy),
      runs,
      synthMs,
    };
  } finally {
    // bundleSizes synthesizes into a temporary cdk.out of its own: .../cdk.out/asset.<hash>/index.js
    const assembly = dirname(dirname(sizes[0]?.path ?? ''));
    if (sizes.length && assembly.includes('notice-relay-bundles-')) rmSync(assembly, { recursive: true, force: true });
  }
};
