// The CDK app: `cdk deploy -c config=path/to/file.json [-c staticEgress=true] [-c alarmEmail=it@…]`.
// The same configuration file as `npm start`, refused when it holds a secret.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describeConfigError } from '../../shared/config/load';
import { ConfigError } from '../../shared/errors';
import { loadDeployableConfig } from './deployable-config';
import { NoticeRelayStack } from './notice-relay-stack';

export interface AppOptions {
  configPath: string;
  staticEgress?: boolean;
  alarmEmail?: string;
  stackName?: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** Output directory of the cloud assembly (tests use a temporary one). */
  outdir?: string;
  /** Writes esbuild's metafile beside each bundle, for the benchmark's account of what weighs most. */
  bundleMetafile?: boolean;
}

/** Builds the app with its one stack and the AwsSolutions checks of cdk-nag. */
export const buildApp = (options: AppOptions): { app: App; stack: NoticeRelayStack } => {
  const env = options.env ?? process.env;
  const { config, runtimeJson } = loadDeployableConfig(options.configPath, env);
  const app = new App({ outdir: options.outdir });
  const stack = new NoticeRelayStack(app, options.stackName ?? 'NoticeRelay', {
    config,
    runtimeConfigJson: runtimeJson,
    staticEgress: options.staticEgress,
    alarmEmail: options.alarmEmail,
    bundleMetafile: options.bundleMetafile,
    env: env.CDK_DEFAULT_ACCOUNT ? { account: env.CDK_DEFAULT_ACCOUNT, region: env.CDK_DEFAULT_REGION } : undefined,
    description: 'Notice Relay: library notices by email through SES or the library relay',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
};

const context = (app: App, key: string): string | undefined => {
  const value = app.node.tryGetContext(key) as unknown;
  return value === undefined ? undefined : String(value);
};

if (require.main === module) {
  // The CDK CLI passes -c values through the CDK_CONTEXT_JSON environment variable, which App reads.
  const probe = new App({ autoSynth: false });
  try {
    buildApp({
      configPath: context(probe, 'config') ?? 'config/example.json',
      staticEgress: context(probe, 'staticEgress') === 'true',
      alarmEmail: context(probe, 'alarmEmail'),
      stackName: context(probe, 'stackName'),
    }).app.synth();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(describeConfigError(error));
      process.exit(1);
    }
    throw error;
  }
}
