// The one stack an institution deploys (docs/contributing/layout.md, docs/it/deploy.md): store, queue, functions, API, SES, secrets,
// optional static egress, alarms, and the outputs IT reads: the API URL and the DNS records to publish.
import { CfnOutput, Duration, Fn, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type IMetric, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { SubnetType } from 'aws-cdk-lib/aws-ec2';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { FilterPattern, MetricFilter } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { Config, InstitutionConfig } from '../../shared/config/schema';
import { domainOf } from '../../shared/config/domains';
import { senderTimings, WEBHOOK_BATCH_SIZE, WEBHOOK_FUNCTION_TIMEOUT_SECONDS, WEBHOOK_VISIBILITY_TIMEOUT_SECONDS } from '../../shared/config/timing';
import { type DnsRecord, dnsRecordsFor, outputLine } from '../../shared/dns/records';
import { AUTH_FAILURE_LOG, TRANSPORT_PAUSED_LOG, TRANSPORT_STALL_GAUGE_LOG } from '../../shared/log';
import { INDEXES } from '../../shared/store/table';
import { NoticeApi } from './constructs/api';
import { StaticEgress } from './constructs/egress';
import { type HandlerName, NoticeRelayFunctions } from './constructs/functions';
import { MailIdentities } from './constructs/mail';
import { DigestSchedule } from './constructs/digest-schedule';
import { DoorbellQueue, WebhookQueue } from './constructs/queue';
import { SecretsForInstitutions } from './constructs/secrets';
import { SmtpDoorService } from './constructs/smtp-door';
import { NoticeTable } from './constructs/store';

export interface NoticeRelayStackProps extends StackProps {
  config: Config;
  /** The configuration the functions load at run time. */
  runtimeConfigJson: string;
  /** Run the functions that reach SMTP relays behind NAT gateways with Elastic IPs. */
  staticEgress?: boolean;
  /** Writes esbuild's metafile beside each bundle (measurement only: it would change every asset's hash). */
  bundleMetafile?: boolean;
  /** Where alarms are mailed; none when absent (the topic is still there to subscribe to). */
  alarmEmail?: string;
  /** API throttling: steady requests per second and burst. */
  apiRateLimit?: number;
  apiBurstLimit?: number;
}


/** Half the bounce and complaint rates at which SES puts an account under review (5 %, 0.1 %). */
export const REPUTATION_LIMITS = { bounceRate: 0.025, complaintRate: 0.0005 };

/** A CloudFormation output id from a domain: `library.example.org` → `LibraryExampleOrg`. */
const idOf = (text: string): string =>
  text
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');

export class NoticeRelayStack extends Stack {
  public constructor(scope: Construct, id: string, props: NoticeRelayStackProps) {
    super(scope, id, props);
    const { config } = props;
    const timings = senderTimings(config.sender);

    const store = new NoticeTable(this, 'Store');
    const doorbells = new DoorbellQueue(this, 'Doorbells', { timings });
    const webhookQueue = new WebhookQueue(this, 'Webhooks', { visibilityTimeoutSeconds: WEBHOOK_VISIBILITY_TIMEOUT_SECONDS });
    // A suffix of the stack's own id: unique to this deployment, the same on every update. A stack deleted and
    // deployed again gets new secrets, rather than colliding with the names of those the old one kept.
    const deploymentSuffix = Fn.select(0, Fn.split('-', Fn.select(2, Fn.split('/', this.stackId))));
    const secrets = new SecretsForInstitutions(this, 'Secrets', { institutions: config.institutions, namePrefix: `notice-relay/${this.stackName}`, nameSuffix: deploymentSuffix });
    const defaultConfigurationSetName = `notice-relay-${this.stackName}`.toLowerCase();
    const mail = new MailIdentities(this, 'Mail', { institutions: config.institutions, defaultConfigurationSetName });
    const egress = props.staticEgress ? new StaticEgress(this, 'Egress') : undefined;

    const functions = new NoticeRelayFunctions(this, 'Functions', {
      runtimeConfigJson: MailIdentities.runtimeWithConfigurationSets(props.runtimeConfigJson, defaultConfigurationSetName),
      bundleMetafile: props.bundleMetafile,
      environment: {
        NOTICE_RELAY_TABLE: store.table.tableName,
        NOTICE_RELAY_QUEUE_URL: doorbells.queue.queueUrl,
        NOTICE_RELAY_WEBHOOK_QUEUE_URL: webhookQueue.queue.queueUrl,
        NOTICE_RELAY_SECRET_ARNS: this.toJsonString(Object.fromEntries([...secrets.secrets].map(([institution, secret]) => [institution, secret.secretArn]))),
      },
      timeouts: {
        intake: Duration.seconds(30),
        // The Test Server answers within API Gateway's 29 s (TEST_SERVER_BUDGET_SECONDS), recorded.
        transport: Duration.seconds(30),
        sender: Duration.seconds(timings.functionTimeoutSeconds),
        sweep: Duration.minutes(2),
        feedback: Duration.seconds(30),
        // The console's Test Server answers within API Gateway's 29 s too.
        console: Duration.seconds(30),
        webhooks: Duration.seconds(WEBHOOK_FUNCTION_TIMEOUT_SECONDS),
        digest: Duration.minutes(5),
      },
      // The transport and console functions send the Test Server's email, the sender everything else: all reach the relays.
      network: egress ? { vpc: egress.vpc, subnets: { subnetType: SubnetType.PRIVATE_WITH_EGRESS }, handlers: ['transport', 'sender', 'console'] } : undefined,
    });
    // The console's DNS page checks SES's Easy DKIM records, whose tokens only the deployment knows (and only
    // for the identities it created: an existing identity's tokens are in the SES console).
    functions.functions.console.addEnvironment(
      'NOTICE_RELAY_DKIM_TOKENS',
      this.toJsonString(
        Object.fromEntries(mail.domains.flatMap((sending) => (sending.identity ? [[sending.domain, sending.identity.dkimRecords.map((record) => Fn.select(0, Fn.split('.', record.name)))]] : []))),
      ),
    );

    // Least privilege, function by function. No function may Scan: the sweep reads the due index.
    const table = store.table.tableArn;
    const indexes = Object.keys(INDEXES).map((name) => `${table}/index/${name}`);
    const can = (names: HandlerName[], actions: string[], resources: string[]) => functions.allow(names, actions, resources);
    // DeleteItem: DELETE /v1/suppressions/{address}.
    can(['intake'], ['dynamodb:BatchWriteItem', 'dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:DescribeTable'], [table]);
    can(['intake'], ['dynamodb:Query'], indexes.filter((arn) => /\/(byInstitution|byExternalId)$/.test(arn)));
    // The Test Server: the key's rate, and the transport's state it reads and records its result in.
    can(['transport'], ['dynamodb:GetItem', 'dynamodb:UpdateItem'], [table]);
    can(['sender'], ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem'], [table]);
    // GetItem: each institution's transport state, for the stall alert.
    can(['sweep'], ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem'], [table]);
    can(['sweep'], ['dynamodb:Query'], indexes.filter((arn) => arn.endsWith('/due')));
    can(['feedback'], ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem'], [table]);
    // The staff console: notices read, cancelled and sent again (a new notice, its doorbell), its sessions
    // and sign-in counts, the Test Server's result; its searches read every index but the sweep's.
    can(['console'], ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'], [table]);
    can(['console'], ['dynamodb:Query'], indexes.filter((arn) => !arn.endsWith('/due')));
    can(['intake', 'sender', 'sweep', 'feedback', 'console'], ['sqs:SendMessage'], [doorbells.queue.queueArn]);
    // The webhook function: each try's record (UpdateItem, GetItem), the next try on its own queue, and the
    // institutions' secrets for the signing keys. Nothing of the notices, no SES, no relays.
    can(['webhooks'], ['dynamodb:UpdateItem', 'dynamodb:GetItem'], [table]);
    can(['intake', 'sender', 'sweep', 'feedback', 'console', 'webhooks'], ['sqs:SendMessage'], [webhookQueue.queue.queueArn]);
    can(['intake'], ['sqs:GetQueueAttributes'], [doorbells.queue.queueArn]);
    // Only the functions that send hold the relays' credentials and SES's permission: never the intake.
    // The console sends the Test Server's email, and its DNS page derives the DKIM record from the key.
    if (secrets.secrets.size) can(['transport', 'sender', 'console', 'webhooks'], ['secretsmanager:GetSecretValue'], [...secrets.secrets.values()].map((secret) => secret.secretArn));
    if (mail.sendingArns.length) {
      functions.allow(['transport', 'sender', 'console'], ['ses:SendRawEmail'], mail.sendingArns, { StringEquals: { 'ses:FromAddress': mail.fromAddresses } });
    }

    // https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html: partial batch responses
    // need ReportBatchItemFailures; maxConcurrency bounds how many senders reach the relays at once; the
    // batching window fills batches when doorbells come spread out, at the cost of that much latency.
    functions.functions.sender.addEventSource(
      new SqsEventSource(doorbells.queue, {
        batchSize: config.sender.batchSize,
        maxBatchingWindow: config.sender.batchingWindowSeconds > 0 ? Duration.seconds(config.sender.batchingWindowSeconds) : undefined,
        reportBatchItemFailures: true,
        maxConcurrency: Math.max(2, config.sender.concurrency),
      }),
    );
    // EventBridge schedules in whole minutes; a shorter sweep.intervalSeconds is for npm start.
    new Rule(this, 'SweepSchedule', {
      description: 'Runs the Notice Relay sweep',
      schedule: Schedule.rate(Duration.minutes(Math.max(1, Math.ceil(config.sweep.intervalSeconds / 60)))),
      targets: [new LambdaFunction(functions.functions.sweep, { retryAttempts: 0 })],
    });
    const digest = new DigestSchedule(this, 'Digest', { functions, tableArn: table, queueArn: doorbells.queue.queueArn });
    mail.routeEventsTo(functions.functions.feedback);
    // A failed feedback invocation (the store unreachable) is tried again twice, a minute or two apart; an
    // event still unrecorded then is kept 14 days in a queue, with an alarm.
    const unrecordedFeedback = new Queue(this, 'UnrecordedFeedback', { retentionPeriod: Duration.days(14), encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true });
    Validations.of(unrecordedFeedback).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is itself a dead-letter queue: the feedback function sends the events it could not record here.' });
    functions.functions.feedback.configureAsyncInvoke({ retryAttempts: 2, maxEventAge: Duration.hours(6), onFailure: new SqsDestination(unrecordedFeedback) });

    const api = new NoticeApi(this, 'Api', { intake: functions.functions.intake, transport: functions.functions.transport, console: functions.functions.console, rateLimit: props.apiRateLimit ?? 50, burstLimit: props.apiBurstLimit ?? 100 });

    const smtpDoor = config.smtpSubmission.enabled
      ? new SmtpDoorService(this, 'SmtpDoor', { config, runtimeConfigJson: props.runtimeConfigJson, table: store.table, queue: doorbells.queue, secretNamePrefix: `notice-relay/${this.stackName}`, secretNameSuffix: deploymentSuffix, vpc: egress?.vpc })
      : undefined;

    this.alarms(config, functions, doorbells, unrecordedFeedback, api, mail, props.alarmEmail);
    // A receiver's failures are tried again through the queue; only what could not be recorded is handed back.
    functions.functions.webhooks.addEventSource(new SqsEventSource(webhookQueue.queue, { batchSize: WEBHOOK_BATCH_SIZE, reportBatchItemFailures: true, maxConcurrency: 2 }));
    for (const alarm of webhookQueue.alarms) alarm.addAlarmAction(new SnsAction(this.node.findChild('Alarms') as Topic));
    // The door's alarms go to the topic alarms() made.
    for (const alarm of smtpDoor?.alarms ?? []) alarm.addAlarmAction(new SnsAction(this.node.findChild('Alarms') as Topic));
    digest.alarm.addAlarmAction(new SnsAction(this.node.findChild('Alarms') as Topic));
    this.outputs(config, api, mail, secrets, egress);
  }

  private alarms(config: Config, functions: NoticeRelayFunctions, doorbells: DoorbellQueue, unrecordedFeedback: Queue, api: NoticeApi, mail: MailIdentities, alarmEmail: string | undefined): void {
    const topic = new Topic(this, 'Alarms', { displayName: 'Notice Relay alarms', enforceSSL: true });
    if (alarmEmail) topic.addSubscription(new EmailSubscription(alarmEmail));
    const alarms = [...doorbells.alarms];
    /** An alarm when `metric` goes above `threshold` (or reaches it, with `atLeast`) in one period. */
    const above = (id: string, metric: IMetric, alarmDescription: string, threshold = 0, atLeast = false) =>
      new Alarm(this, id, {
        alarmDescription,
        metric,
        threshold,
        comparisonOperator: atLeast ? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD : ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    const fromLog = (id: string, name: HandlerName, metricName: string, message: string, dimensions?: Record<string, string>) =>
      new MetricFilter(this, id, {
        logGroup: functions.logGroups[name],
        metricNamespace: 'NoticeRelay',
        metricName,
        filterPattern: FilterPattern.stringValue('$.message', '=', message),
        metricValue: '1',
        ...(dimensions ? { dimensions } : {}),
      });

    // The institution's own setup refused mail and its sending paused: one ERROR line per change of state.
    const paused = fromLog('TransportPaused-sender', 'sender', 'TransportPaused', TRANSPORT_PAUSED_LOG);
    alarms.push(
      above(
        'TransportPausedAlarm',
        paused.metric({ period: Duration.minutes(5), statistic: 'Sum' }),
        "An institution's own sending setup refused mail (a refused login, relaying denied, TLS, SES not verified…) and its sending paused: see GET /v1/transport for the reply and the next probe. Notices are held, not failed.",
      ),
    );
    // The Test Server's refused logins: IT pressed the button, but the alarm hears of it too.
    const testLogins = fromLog('AuthFailures-transport', 'transport', 'TransportAuthenticationFailures', AUTH_FAILURE_LOG);
    alarms.push(above('AuthFailureAlarm-transport', testLogins.metric({ period: Duration.minutes(5), statistic: 'Sum' }), 'A Test Server run met a refused SMTP login or OAuth2 grant: see GET /v1/transport.'));

    // A stall, per institution, from the sweep: it writes the line every run while the institution's notices
    // have waited for alerts.stalledAfterMinutes with none getting through. The alarm's return to OK says the stall is over.
    const stalled = fromLog('TransportStalled-sweep', 'sweep', 'TransportStalled', TRANSPORT_STALL_GAUGE_LOG, { Institution: '$.institution' });
    for (const institution of config.institutions) {
      const alarm = above(
        `TransportStalled-${institution.id}`,
        stalled.metric({ dimensionsMap: { Institution: institution.id }, period: Duration.minutes(5), statistic: 'Maximum' }),
        `${institution.id}'s notices have waited ${config.alerts.stalledAfterMinutes} minutes, held or to be tried again, and none got through: see GET /v1/transport (paused, stalledSince). This alarm returns to OK when it sends again.`,
      );
      alarm.addOkAction(new SnsAction(topic));
      alarms.push(alarm);
    }

    const erring = (id: string, name: HandlerName, alarmDescription: string) => above(id, functions.functions[name].metricErrors({ period: Duration.minutes(5) }), alarmDescription);
    const throttled = (id: string, name: HandlerName, alarmDescription: string) => above(id, functions.functions[name].metricThrottles({ period: Duration.minutes(5) }), alarmDescription);
    alarms.push(
      erring('IntakeErrors', 'intake', 'The intake function failed (an invocation error, not a refused request): the ILS may have had 502s.'),
      erring('TransportErrors', 'transport', 'The transport function (GET /v1/transport, the Test Server) failed.'),
      erring('SenderErrors', 'sender', 'The sender function failed (not a failed send: an invocation error).'),
      throttled('IntakeThrottles', 'intake', "Lambda throttled the intake function: the account's concurrency is used up, and the ILS gets 502s or 429s."),
      throttled('TransportThrottles', 'transport', 'Lambda throttled the transport function.'),
      throttled('SenderThrottles', 'sender', "Lambda throttled the sender function: doorbells wait in the queue until it runs."),
      erring('WebhooksErrors', 'webhooks', 'The webhook function failed (not a receiver that answered badly: an invocation error). Webhook events wait in their queue.'),
      above('Api5xx', api.api.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }), 'API Gateway answered 5xx: see the intake and transport functions\' errors and the API\'s access log.'),
    );
    // Retries after the first hour, scheduled notices, lost doorbells and give-ups all wait on the sweep:
    // a sweep that fails, or stops being run, stalls them without a message in any queue to show it.
    alarms.push(
      erring('SweepErrors', 'sweep', 'The sweep failed: notices due from the store (long retries, sendAt, give-ups) are not being rung.'),
      new Alarm(this, 'SweepNotRunning', {
        alarmDescription: 'The sweep has not run for 10 minutes (it runs every minute): check its EventBridge schedule.',
        metric: functions.functions.sweep.metricInvocations({ period: Duration.minutes(10), statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.BREACHING,
      }),
    );
    alarms.push(
      above(
        'FeedbackUnrecorded',
        unrecordedFeedback.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
        'An SES delivery, bounce or complaint event could not be recorded on its notice; it is kept 14 days in the UnrecordedFeedback queue.',
      ),
    );
    if (mail.domains.length > 0) {
      // The account's reputation, at half the rates at which SES puts an account under review (5 % bounces,
      // 0.1 % complaints): time to look before SES pauses sending (https://docs.aws.amazon.com/ses/latest/dg/reputationdashboard-cloudwatch-alarm.html).
      const reputation = (metricName: string) => new Metric({ namespace: 'AWS/SES', metricName, period: Duration.hours(1), statistic: 'Maximum' });
      alarms.push(
        above('SesBounceRate', reputation('Reputation.BounceRate'), "SES's bounce rate for the account reached 2.5 % (SES reviews an account at 5 %): look for lists of stale addresses in the ILS.", REPUTATION_LIMITS.bounceRate, true),
        above('SesComplaintRate', reputation('Reputation.ComplaintRate'), "SES's complaint rate for the account reached 0.05 % (SES reviews an account at 0.1 %).", REPUTATION_LIMITS.complaintRate, true),
      );
    }
    for (const alarm of alarms) alarm.addAlarmAction(new SnsAction(topic));
    new CfnOutput(this, 'AlarmTopicArn', { value: topic.topicArn, description: 'Subscribe IT to these alarms (SNS topic)' });
  }

  private outputs(config: Config, api: NoticeApi, mail: MailIdentities, secrets: SecretsForInstitutions, egress: StaticEgress | undefined): void {
    // The base the API's paths follow, as `npm start` prints it locally: the ILS posts to <ApiUrl>/v1/notices.
    new CfnOutput(this, 'ApiUrl', {
      value: `https://${api.api.restApiId}.execute-api.${this.region}.${this.urlSuffix}/${api.api.deploymentStage.stageName}`,
      description: "The API's base URL: point the ILS at <ApiUrl>/v1/notices (GET <ApiUrl>/v1/openapi.json describes every path)",
    });
    new CfnOutput(this, 'ConsoleUrl', {
      value: `https://${api.api.restApiId}.execute-api.${this.region}.${this.urlSuffix}/${api.api.deploymentStage.stageName}/console`,
      description: "The staff console: library staff sign in with their library's id and a staff key (consoleKeyHashes)",
    });
    const output = (id: string, record: DnsRecord) => new CfnOutput(this, id, { value: outputLine(record), description: record.description });
    const published = new Set<string>();
    for (const sending of mail.domains) {
      const institution = sending.institutions[0] as InstitutionConfig;
      const { identity } = sending;
      const records = dnsRecordsFor(institution, { region: this.region, ...(identity ? { dkimCnames: identity.dkimRecords } : {}) });
      const domainId = idOf(sending.domain);
      if (identity) {
        records.filter((r) => r.purpose === 'dkim').forEach((record, index) => output(`Dkim${index + 1}${domainId}`, record));
        new CfnOutput(this, `DkimTokens${domainId}`, {
          value: Fn.join(',', identity.dkimRecords.map((record) => Fn.select(0, Fn.split('.', record.name)))),
          description: `the Easy DKIM tokens of ${sending.domain}, for notice-relay dns-check --dkim-tokens`,
        });
      } else {
        new CfnOutput(this, `ExistingIdentity${domainId}`, {
          value: sending.domain,
          description: `${sending.domain} sends through the SES identity that already existed; its DKIM tokens: aws sesv2 get-email-identity --email-identity ${sending.domain} --query DkimAttributes.Tokens`,
        });
      }
      output(`MailFromMx${domainId}`, records.find((r) => r.purpose === 'mail-from-mx') as DnsRecord);
      output(`MailFromSpf${domainId}`, records.find((r) => r.purpose === 'mail-from-spf') as DnsRecord);
      output(`Dmarc${domainId}`, records.find((r) => r.purpose === 'dmarc') as DnsRecord);
      published.add(sending.domain);
    }
    for (const institution of config.institutions) {
      const domain = domainOf(institution.from.address);
      const institutionId = idOf(institution.id);
      if (institution.transport.kind === 'smtp') {
        const records = dnsRecordsFor(institution, { region: this.region });
        const dkim = records.find((r) => r.purpose === 'dkim');
        if (dkim) output(`DkimTxt${institutionId}`, { ...dkim, description: `${dkim.description}; run notice-relay dns-records --dkim-key ${institution.id}=<the secret's dkimPrivateKey, saved as a file> to get p=` });
        if (!published.has(domain)) output(`Dmarc${idOf(domain)}`, records.find((r) => r.purpose === 'dmarc') as DnsRecord);
        published.add(domain);
      }
      const secret = secrets.secrets.get(institution.id);
      if (secret) new CfnOutput(this, `Secret${institutionId}`, { value: secret.secretArn, description: `fill in the SMTP credentials and DKIM key of ${institution.id} here` });
    }
    if (egress) new CfnOutput(this, 'EgressIps', { value: egress.addresses.join(', '), description: 'allow these addresses on the institution SMTP relays firewall' });
  }
}
