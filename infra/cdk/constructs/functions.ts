// The Lambda functions, bundled with esbuild (only what each handler imports), on the latest
// Node.js runtime Lambda offers, for arm64. Each carries the runtime configuration file in its bundle.
import { type Duration, Validations } from 'aws-cdk-lib';
import type { IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The repository root, from which handler entries and the lock file are found. */
export const PROJECT_ROOT = join(__dirname, '..', '..', '..');

export type HandlerName = 'intake' | 'transport' | 'sender' | 'sweep' | 'feedback' | 'console' | 'webhooks' | 'digest';

export const HANDLER_NAMES: readonly HandlerName[] = ['intake', 'transport', 'sender', 'sweep', 'feedback', 'console', 'webhooks', 'digest'];

export interface FunctionsProps {
  /** The configuration the functions read at run time (no secrets in it). */
  runtimeConfigJson: string;
  /**
   * Writes esbuild's metafile beside each bundle, for measurement. Deployed bundles go without: it names
   * the bundling folder, whose name changes with every synth, so every deploy would replace every function.
   */
  bundleMetafile?: boolean;
  environment: Record<string, string>;
  timeouts: Record<HandlerName, Duration>;
  /** With static egress: the VPC and subnets whose NAT addresses the relays see. */
  network?: { vpc: IVpc; subnets: SubnetSelection; handlers: HandlerName[] };
}

/**
 * Parts of the SDK a function on Lambda never loads, each behind a dynamic `import()` the SDK reaches only
 * when it needs that part, left out of every bundle. The default credential chain imports its other
 * providers (files, SSO, a process, web identity, the container and instance metadata endpoints) only
 * when the environment holds no credentials, and Lambda always puts the function role's there
 * (AWS_ACCESS_KEY_ID…); the protocols import their event-stream code only for an operation that streams
 * events, which none of DynamoDB, SQS, SES or Secrets Manager's operations we call does. Left in, each
 * such `import()` makes esbuild turn every module it reaches (most of `@smithy/core`) into a function run
 * at load, which costs the cold start its compiling twice: the bench measures the SDK's load about 10 ms
 * shorter without them. Were one ever reached (AWS_PROFILE set on a function, say), the request would fail
 * naming the package it could not load.
 */
export const SDK_PARTS_LAMBDA_NEVER_LOADS = [
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/credential-provider-http',
  '@smithy/credential-provider-imds',
  '@smithy/core/event-streams',
];

const MEMORY_MB: Record<HandlerName, number> = { intake: 512, transport: 256, sender: 512, sweep: 256, feedback: 256, console: 512, webhooks: 256, digest: 256 };

export class NoticeRelayFunctions extends Construct {
  public readonly functions: Record<HandlerName, NodejsFunction>;
  public readonly logGroups: Record<HandlerName, LogGroup>;

  public constructor(scope: Construct, id: string, props: FunctionsProps) {
    super(scope, id);
    // The runtime configuration travels inside each bundle, as /var/task/config.json.
    const configFile = join(mkdtempSync(join(tmpdir(), 'notice-relay-config-')), 'config.json');
    writeFileSync(configFile, props.runtimeConfigJson);
    const make = (name: HandlerName): [NodejsFunction, LogGroup] => {
      const logGroup = new LogGroup(this, `${name}Logs`, { retention: RetentionDays.ONE_MONTH });
      const inVpc = props.network?.handlers.includes(name);
      // A role of its own per function, allowed to write its own log group and nothing else to start with.
      const role = new Role(this, `${name}Role`, { assumedBy: new ServicePrincipal('lambda.amazonaws.com'), description: `Notice Relay ${name} function` });
      logGroup.grantWrite(role);
      if (inVpc) {
        role.addManagedPolicy(ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole'));
        Validations.of(role).acknowledge({
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
          reason: 'A function in a VPC needs the network-interface actions of this AWS managed policy, which Lambda itself uses.',
        });
      }
      const fn = new NodejsFunction(this, name, {
        entry: join(PROJECT_ROOT, 'lambdas', name, 'handler.ts'),
        handler: 'handler',
        projectRoot: PROJECT_ROOT,
        depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
        runtime: Runtime.NODEJS_24_X,
        architecture: Architecture.ARM_64,
        memorySize: MEMORY_MB[name],
        timeout: props.timeouts[name],
        role,
        logGroup,
        environment: { ...props.environment, NOTICE_RELAY_CONFIG: '/var/task/config.json', POWERTOOLS_SERVICE_NAME: 'notice-relay', POWERTOOLS_LOG_LEVEL: 'INFO' },
        description: `Notice Relay ${name}`,
        ...(inVpc && props.network ? { vpc: props.network.vpc, vpcSubnets: props.network.subnets } : {}),
        bundling: {
          minify: true,
          sourceMap: false,
          target: 'node24',
          format: OutputFormat.CJS,
          // The SDK is bundled too, so the versions tested are the versions run.
          externalModules: SDK_PARTS_LAMBDA_NEVER_LOADS,
          metafile: props.bundleMetafile ?? false,
          // The packages' ES module builds first: esbuild drops what a handler never imports from them.
          mainFields: ['module', 'main'],
          commandHooks: {
            beforeBundling: () => [],
            beforeInstall: () => [],
            afterBundling: (_inputDir: string, outputDir: string) => [`cp "${configFile}" "${outputDir}/config.json"`],
          },
        },
      });
      return [fn, logGroup];
    };
    const built = Object.fromEntries(HANDLER_NAMES.map((name) => [name, make(name)])) as Record<HandlerName, [NodejsFunction, LogGroup]>;
    // Each function bundled (and copied the file) as it was made; every synth would otherwise leave one behind.
    rmSync(dirname(configFile), { recursive: true, force: true });
    this.functions = Object.fromEntries(HANDLER_NAMES.map((name) => [name, built[name][0]])) as Record<HandlerName, NodejsFunction>;
    this.logGroups = Object.fromEntries(HANDLER_NAMES.map((name) => [name, built[name][1]])) as Record<HandlerName, LogGroup>;
  }

  /** Grants exactly `actions` on `resources` to the named functions. */
  public allow(names: HandlerName[], actions: string[], resources: string[], conditions?: Record<string, Record<string, string[]>>): void {
    for (const name of names) this.functions[name].addToRolePolicy(new PolicyStatement({ actions, resources, conditions }));
  }
}
