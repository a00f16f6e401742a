// The SMTP door on AWS (`smtpSubmission.enabled`, docs/integrator/smtp-door.md): the listener of
// infra/smtp-door in ECS Fargate tasks (arm64, at least two, in two zones) behind a Network Load Balancer on
// 587 and 465, its certificate from a Secrets Manager secret IT fills, its security groups from the
// configuration's networks, the intake's least privilege, scaling on connections and CPU, alarms, outputs.
import { CfnOutput, Duration, IgnoreMode, RemovalPolicy, SecretValue, Stack, Validations } from 'aws-cdk-lib';
import { AdjustmentType } from 'aws-cdk-lib/aws-applicationautoscaling';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import {
  FlowLogDestination,
  FlowLogTrafficType,
  GatewayVpcEndpointAwsService,
  type IVpc,
  Peer,
  Port,
  SecurityGroup,
  type SubnetSelection,
  SubnetType,
  Vpc,
} from 'aws-cdk-lib/aws-ec2';
import {
  Cluster,
  ContainerImage,
  ContainerInsights,
  CpuArchitecture,
  FargateService,
  FargateTaskDefinition,
  LogDrivers,
  OperatingSystemFamily,
} from 'aws-cdk-lib/aws-ecs';
import { NetworkLoadBalancer, NetworkTargetGroup, Protocol, TargetType } from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { FilterPattern, LogGroup, MetricFilter, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { Config } from '../../../shared/config/schema';
import { parseNetwork } from '../../../shared/submission/networks';
import { PROJECT_ROOT } from './functions';

/** What the load balancer listens on, and the container ports it forwards to (no privilege needed there). */
export const SMTP_DOOR_PORTS = [
  { name: 'Submission', listener: 587, container: 2587, what: 'STARTTLS' },
  { name: 'ImplicitTls', listener: 465, container: 2465, what: 'implicit TLS' },
] as const;

const MIN_TASKS = 2;
const MAX_TASKS = 10;

/**
 * What the image is built from: the repository, but only what the door's bundle reads, so that a change
 * elsewhere (a Lambda handler, a test) makes no new image. Docker's own ignore rules, negations included.
 */
const IMAGE_CONTEXT = ['*', '!package.json', '!package-lock.json', '!tsconfig.json', '!shared', '!infra', 'infra/*', '!infra/smtp-door'];

export interface SmtpDoorServiceProps {
  config: Config;
  /** The configuration the door reads at run time (the same validated JSON the functions carry). */
  runtimeConfigJson: string;
  table: { tableName: string; tableArn: string };
  queue: { queueUrl: string; queueArn: string };
  /**
   * How the certificate's secret is named, `<prefix>/smtp-door-tls-<suffix>`: the suffix is unique to the
   * deployment, as the institutions' secrets' is (secrets.ts), so that a stack deleted and deployed again
   * under the same name does not collide with the secret its predecessor kept.
   */
  secretNamePrefix: string;
  secretNameSuffix: string;
  /** A VPC to run in (static egress's); a small one of its own otherwise. */
  vpc?: IVpc;
}

export class SmtpDoorService extends Construct {
  public readonly loadBalancer: NetworkLoadBalancer;
  public readonly service: FargateService;
  public readonly tlsSecret: Secret;
  public readonly alarms: Alarm[];

  public constructor(scope: Construct, id: string, props: SmtpDoorServiceProps) {
    super(scope, id);
    const { config } = props;

    // Two zones. Without static egress the tasks sit in public subnets with public addresses (no NAT to pay
    // for), reachable only from the load balancer's security group.
    const vpc =
      props.vpc ??
      new Vpc(this, 'Vpc', {
        maxAzs: 2,
        natGateways: 0,
        subnetConfiguration: [{ name: 'public', subnetType: SubnetType.PUBLIC, cidrMask: 24 }],
        gatewayEndpoints: { DynamoDB: { service: GatewayVpcEndpointAwsService.DYNAMODB } },
        flowLogs: { Rejected: { destination: FlowLogDestination.toCloudWatchLogs(new LogGroup(this, 'FlowLogs', { retention: RetentionDays.ONE_MONTH })), trafficType: FlowLogTrafficType.REJECT } },
      });
    const taskSubnets: SubnetSelection = props.vpc ? { subnetType: SubnetType.PRIVATE_WITH_EGRESS } : { subnetType: SubnetType.PUBLIC };

    // The certificate and key IT puts in, read by the tasks at start and every five minutes after.
    this.tlsSecret = new Secret(this, 'TlsSecret', {
      secretName: `${props.secretNamePrefix}/smtp-door-tls-${props.secretNameSuffix}`,
      description: 'Notice Relay SMTP door: {"certificate": "<PEM, intermediates after it>", "privateKey": "<PEM>"} for the host name the ILS connects to',
      // Never rewritten by a deploy: what IT put in stays (see secrets.ts). Kept when the stack is deleted,
      // removed when a first deploy rolls back, so that its name is free for the next try.
      secretStringValue: SecretValue.unsafePlainText('{}'),
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    Validations.of(this.tlsSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: "The secret holds a TLS certificate and key issued by the institution's certificate authority; it is renewed there and put in by IT, not rotated by Secrets Manager.",
    });

    const cluster = new Cluster(this, 'Cluster', { vpc, containerInsightsV2: ContainerInsights.ENABLED });
    const logGroup = new LogGroup(this, 'Logs', { retention: RetentionDays.ONE_MONTH });
    const task = new FargateTaskDefinition(this, 'Task', {
      cpu: 512,
      memoryLimitMiB: 1024,
      runtimePlatform: { cpuArchitecture: CpuArchitecture.ARM64, operatingSystemFamily: OperatingSystemFamily.LINUX },
    });
    task.addContainer('door', {
      image: ContainerImage.fromAsset(PROJECT_ROOT, {
        file: 'infra/smtp-door/Dockerfile',
        platform: Platform.LINUX_ARM64,
        exclude: IMAGE_CONTEXT,
        ignoreMode: IgnoreMode.DOCKER,
      }),
      environment: {
        NOTICE_RELAY_CONFIG_JSON: props.runtimeConfigJson,
        NOTICE_RELAY_TABLE: props.table.tableName,
        NOTICE_RELAY_QUEUE_URL: props.queue.queueUrl,
        NOTICE_RELAY_SMTP_TLS_SECRET: this.tlsSecret.secretArn,
        POWERTOOLS_SERVICE_NAME: 'notice-relay',
        POWERTOOLS_LOG_LEVEL: 'INFO',
      },
      portMappings: SMTP_DOOR_PORTS.map((port) => ({ containerPort: port.container })),
      logging: LogDrivers.awsLogs({ streamPrefix: 'smtp-door', logGroup }),
      readonlyRootFilesystem: true,
      healthCheck: { command: ['CMD', 'node', 'health-check.cjs', String(SMTP_DOOR_PORTS[0].container)], interval: Duration.seconds(30), timeout: Duration.seconds(5), retries: 3, startPeriod: Duration.seconds(20) },
      // The door stops taking connections at once and gives those under way 30 s (smtp-server's close).
      stopTimeout: Duration.seconds(45),
    });
    if (task.executionRole) {
      Validations.of(task.executionRole).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: "ECS pulls the image with ecr:GetAuthorizationToken, which names no resource: IAM allows it only on *. The image pull itself is granted on the asset's repository alone.",
      });
    }
    Validations.of(task).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: 'The environment holds the table name, queue URL, the validated configuration (API keys only as SHA-256 digests) and the ARN of the TLS secret; no secret value, which the task reads from Secrets Manager itself.',
    });
    // The intake's least privilege, and no more: the door stores notices and rings their doorbells
    // (acceptNotices, the key rate), and reads its own certificate. No Query, no Scan, no SES, no relay secret.
    task.addToTaskRolePolicy(
      new PolicyStatement({ actions: ['dynamodb:BatchWriteItem', 'dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem'], resources: [props.table.tableArn] }),
    );
    task.addToTaskRolePolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [props.queue.queueArn] }));
    this.tlsSecret.grantRead(task.taskRole);

    // Who may connect: every institution's no-login networks, and the networks that may log in.
    const networks = [...new Set([...config.institutions.flatMap((institution) => institution.smtpSubmission?.allowFrom ?? []), ...config.smtpSubmission.loginFrom])];
    const balancerGroup = new SecurityGroup(this, 'BalancerSecurityGroup', { vpc, description: 'Notice Relay SMTP door: the networks of smtpSubmission.allowFrom and loginFrom, on 587 and 465', allowAllOutbound: false });
    for (const text of networks) {
      const network = parseNetwork(text);
      if ('problem' in network) continue;
      const peer = network.address.kind() === 'ipv4' ? Peer.ipv4(network.text) : Peer.ipv6(network.text);
      for (const port of SMTP_DOOR_PORTS) balancerGroup.addIngressRule(peer, Port.tcp(port.listener), `SMTP ${port.what} from ${network.text}`);
    }
    if (networks.some((text) => text.endsWith('/0'))) {
      Validations.of(balancerGroup).acknowledge({
        id: 'AwsSolutions-EC23',
        reason: 'smtpSubmission.loginFrom is anywhere, as for the HTTPS API: an ILS in a vendor cloud logs in from addresses the library does not know. Only TLS and an API key let a connection send; set loginFrom to close it.',
      });
    }
    const taskGroup = new SecurityGroup(this, 'TaskSecurityGroup', { vpc, description: 'Notice Relay SMTP door tasks: from the load balancer only', allowAllOutbound: true });
    for (const port of SMTP_DOOR_PORTS) {
      taskGroup.addIngressRule(balancerGroup, Port.tcp(port.container), `SMTP ${port.what} from the load balancer`);
      balancerGroup.addEgressRule(taskGroup, Port.tcp(port.container), `SMTP ${port.what} to the tasks`);
    }

    this.service = new FargateService(this, 'Service', {
      cluster,
      taskDefinition: task,
      desiredCount: MIN_TASKS,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      vpcSubnets: taskSubnets,
      assignPublicIp: !props.vpc,
      securityGroups: [taskGroup],
      circuitBreaker: { rollback: true },
    });

    this.loadBalancer = new NetworkLoadBalancer(this, 'LoadBalancer', {
      vpc,
      internetFacing: true,
      crossZoneEnabled: true,
      securityGroups: [balancerGroup],
      vpcSubnets: { subnetType: SubnetType.PUBLIC },
    });
    Validations.of(this.loadBalancer).acknowledge({
      id: 'AwsSolutions-ELB2',
      reason: "A Network Load Balancer writes access logs for TLS listeners only; these are TCP (TLS ends in the door, as STARTTLS must), and the door logs every connection refused and every message's notice ids.",
    });
    const targetGroups = SMTP_DOOR_PORTS.map((port) => {
      const group = new NetworkTargetGroup(this, `${port.name}Targets`, {
        vpc,
        port: port.container,
        protocol: Protocol.TCP,
        targetType: TargetType.IP,
        // The door decides by the client's address which institution a connection without a login is.
        preserveClientIp: true,
        deregistrationDelay: Duration.seconds(45),
        // Both ports are judged by the submission port: the TLS one opens only once there is a certificate.
        healthCheck: { protocol: Protocol.TCP, port: String(SMTP_DOOR_PORTS[0].container), interval: Duration.seconds(10), healthyThresholdCount: 2, unhealthyThresholdCount: 2 },
      });
      this.loadBalancer.addListener(`${port.name}Listener`, { port: port.listener, protocol: Protocol.TCP, defaultTargetGroups: [group] });
      group.addTarget(this.service.loadBalancerTarget({ containerName: 'door', containerPort: port.container }));
      return group;
    });

    // More tasks when connections or CPU grow; never fewer than two, one a zone.
    const scaling = this.service.autoScaleTaskCount({ minCapacity: MIN_TASKS, maxCapacity: MAX_TASKS });
    scaling.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60 });
    scaling.scaleOnMetric('Connections', {
      metric: this.loadBalancer.metrics.activeFlowCount({ statistic: 'Average', period: Duration.minutes(1) }),
      scalingSteps: [
        { upper: 100, change: -1 },
        { lower: 400, change: +1 },
        { lower: 1200, change: +3 },
      ],
      adjustmentType: AdjustmentType.CHANGE_IN_CAPACITY,
      cooldown: Duration.minutes(3),
    });

    // Every ERROR the door logs: no usable certificate, notices it could not store, anything unexpected.
    const errors = new MetricFilter(this, 'Errors', {
      logGroup,
      metricNamespace: 'NoticeRelay',
      metricName: 'SmtpDoorErrors',
      filterPattern: FilterPattern.stringValue('$.level', '=', 'ERROR'),
      metricValue: '1',
    });
    this.alarms = [
      new Alarm(this, 'ErrorsAlarm', {
        alarmDescription: "The SMTP door logged an error: its certificate is missing or unusable (fill the SmtpTlsSecret), or it could not store a message's notices (the ILS was told 451 and sends again). See the door's log group.",
        metric: errors.metric({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      new Alarm(this, 'UnhealthyAlarm', {
        alarmDescription: 'Fewer than two SMTP door tasks answer the load balancer: a zone or the service is down, and ILS messages may be refused.',
        metric: (targetGroups[0] as NetworkTargetGroup).metrics.healthyHostCount({ statistic: 'Minimum', period: Duration.minutes(1) }),
        threshold: MIN_TASKS,
        comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: TreatMissingData.BREACHING,
      }),
    ];

    const output = (id: string, value: string, description: string) => new CfnOutput(Stack.of(this), id, { value, description });
    const host = this.loadBalancer.loadBalancerDnsName;
    output('SmtpHost', host, 'the SMTP door: point the ILS at this host (or at SmtpCname), port 587 with STARTTLS or 465 with TLS');
    output('SmtpPorts', SMTP_DOOR_PORTS.map((port) => `${port.listener} (${port.what})`).join(', '), 'the SMTP door ports');
    output('SmtpCname', `${config.smtpSubmission.hostName ?? '<the host name your certificate names>'} CNAME ${host}.`, 'publish this record: the ILS connects to this name, which the certificate in SmtpTlsSecret must name');
    output(
      'SmtpTlsSecret',
      this.tlsSecret.secretArn,
      'put the SMTP door certificate here (the secret notice-relay/<stack>/smtp-door-tls-<suffix of this deployment>): {"certificate": "<PEM, intermediates after it>", "privateKey": "<PEM>"}',
    );
  }
}
