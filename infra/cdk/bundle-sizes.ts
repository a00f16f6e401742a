// `npm run bundle-sizes`: synthesizes the stack offline and prints the size of each function's bundle
// (minified by esbuild, as deployed). The benchmark reports the same figures.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildApp } from './app';

export interface BundleSize {
  handler: string;
  bytes: number;
  path: string;
}

/** Synthesizes `configPath` and measures each function's index.js. */
export const bundleSizes = (configPath = 'config/example.json'): BundleSize[] => {
  const { app, stack } = buildApp({ configPath, outdir: mkdtempSync(join(tmpdir(), 'notice-relay-bundles-')), env: {}, bundleMetafile: true });
  const assembly = app.synth();
  const template = assembly.getStackByName(stack.stackName).template as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
  return Object.values(template.Resources)
    .filter((resource) => resource.Type === 'AWS::Lambda::Function')
    .map((resource) => {
      const handler = String(resource.Properties.Description).replace('Notice Relay ', '');
      // The asset's S3 key is its hash; the bundle sits in cdk.out/asset.<hash>/.
      const key = String((resource.Properties.Code as { S3Key: string }).S3Key).replace(/\.zip$/, '');
      const path = join(assembly.directory, `asset.${key}`, 'index.js');
      return { handler, bytes: statSync(path).size, path };
    })
    .sort((a, b) => a.handler.localeCompare(b.handler));
};

if (require.main === module) {
  const sizes = bundleSizes(process.argv[2]);
  for (const { handler, bytes } of sizes) console.log(`${handler.padEnd(9)} ${(bytes / 1024).toFixed(0).padStart(5)} KiB  (${bytes} bytes)`);
  // The assembly was synthesized for this count alone: .../notice-relay-bundles-*/asset.<hash>/index.js
  const assembly = dirname(dirname(sizes[0]?.path ?? ''));
  if (assembly.includes('notice-relay-bundles-')) rmSync(assembly, { recursive: true, force: true });
}
