// Bundles the SMTP door's container entry point (main.ts) into one file with esbuild, the way the Lambda
// functions are bundled: what the Dockerfile runs, and what the container test runs, so both are the same.
//   node infra/smtp-door/bundle.cjs <output directory>
const { buildSync } = require('esbuild');
const { copyFileSync, mkdirSync } = require('node:fs');
const { join } = require('node:path');

/** Writes main.js and health-check.cjs into `outdir`. */
const bundleSmtpDoor = (outdir) => {
  mkdirSync(outdir, { recursive: true });
  buildSync({
    entryPoints: [join(__dirname, 'main.ts')],
    outfile: join(outdir, 'main.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    // The packages' ES module builds first, as for the functions.
    mainFields: ['module', 'main'],
    logLevel: 'warning',
  });
  copyFileSync(join(__dirname, 'health-check.cjs'), join(outdir, 'health-check.cjs'));
};

module.exports = { bundleSmtpDoor };

if (require.main === module) {
  if (!process.argv[2]) {
    console.error('usage: node infra/smtp-door/bundle.cjs <output directory>');
    process.exit(2);
  }
  bundleSmtpDoor(process.argv[2]);
}
