// Runs bundleSizes() (a `cdk synth` of config/example.json, offline) in a child process of its own, so
// that esbuild's output for each bundle does not land in the bench's table; prints one marked JSON line.
import { bundleSizes } from '../../infra/cdk/bundle-sizes';

export const BUNDLES_MARK = 'BENCH_BUNDLES ';

if (require.main === module) process.stdout.write(`\n${BUNDLES_MARK}${JSON.stringify(bundleSizes())}\n`);
