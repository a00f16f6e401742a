// `npm run cold-init`: the bench's bundleBytes and coldInitRatio alone, printed and not written to
// bench/results.json, to see what a change to the bundling or to what a handler loads does to a cold
// start without the whole bench's four minutes. `npm run bench` gives the figures that are kept.
import { measureBundles } from './bundles';

const RUNS = Number(process.env.COLD_INIT_RUNS ?? 20);

const bundles = measureBundles(RUNS);
const ms = (value: number) => `${value.toFixed(1)} ms`;
console.log(`bare node ${ms(bundles.bareNodeMs)}; ratios are medians of ${bundles.runs} loads each, each divided by a bare start just before it`);
for (const bundle of bundles.bundles) {
  console.log(
    `${bundle.handler.padEnd(10)} ${(bundle.bytes / 1024).toFixed(0).padStart(4)} KiB  load ${ms(bundle.initMs).padStart(9)}  ${bundle.coldInitRatio.toFixed(2)}×  (start + compile alone ${ms(bundle.compileMs)})`,
  );
}
const floor = (name: string, { bytes, initMs, ratio }: { bytes: number; initMs: number; ratio: number }) =>
  console.log(`${name.padEnd(48)} ${(bytes / 1024).toFixed(0).padStart(4)} KiB  load ${ms(initMs).padStart(9)}  ${ratio.toFixed(2)}×`);
floor('DynamoDB and SQS clients alone', bundles.sdkOnly);
floor('the same, the SDK parts behind import() bundled', bundles.sdkOnlyWithLazyParts);
for (const each of bundles.floors) floor(each.name, each);
