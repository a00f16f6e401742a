// The AWS stack, synthesized offline from config/example.json: resources, wiring, least privilege,
// the outputs IT copies into DNS, and the cdk-nag (AwsSolutions) result.
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { secretTemplate } from '../../shared/secrets';
import { aConfig } from '../support/factories';
import { buildApp } from '../../infra/cdk/app';
import { MailIdentities } from '../../infra/cdk/constructs/mail';
import { loadDeployableConfig } from '../../infra/cdk/deployable-config';
import { loadConfig } from '../../shared/config/load';
import { senderTimings } from '../../shared/config/timing';
import { ConfigError } from '../../shared/errors';
import { createTableInput } from '../../shared/store/table';
import { temporaryDirectories } from '../support/temp-dirs';

const temporary = temporaryDirectories();
afterAll(() => temporary.removeAll());

const outdir = () => temporary.make('cdk-out-');
const example = loadConfig('config/example.json');

/** Every IAM policy statement of the template. */
const statements = (template: Template): Array<{ Action: string | string[]; Resource: unknown; Condition?: unknown }> =>
  Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) => (policy as { Properties: { PolicyDocument: { Statement: [] } } }).Properties.PolicyDocument.Statement);
const actionsOf = (statement: { Action: string | string[] }) => [statement.Action].flat();

describe('Stack: NoticeRelay from config/example.json', () => {
  const built = buildApp({ configPath: 'config/example.json', outdir: outdir(), env: {} });
  const template = Template.fromStack(built.stack);

  it('passes cdk-nag (AwsSolutions) with every acknowledgement justified', () => {
    // Act
    const synth = () => built.app.synth();
    // Assess
    expect(synth).not.toThrow();
    const reasons = built.stack.node
      .findAll()
      .flatMap((node) => node.node.metadata.filter((entry) => /acknowledge/i.test(entry.type)))
      .flatMap((entry) => Object.values(entry.data as Record<string, string>));
    expect(reasons.length).toBeGreaterThan(0);
    for (const reason of reasons) expect(reason.length).toBeGreaterThan(40);
  });

  it('is checked by cdk-nag for real: an unacknowledged finding fails the synth', () => {
    // Prepare: a stack with one plain violation (a queue without a dead-letter queue or TLS-only policy)
    const app = new App({ outdir: outdir() });
    const stack = new Stack(app, 'Control');
    new Queue(stack, 'Bare');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    // Act
    let failure: unknown;
    try {
      app.synth();
    } catch (error) {
      failure = error;
    }
    // Assess
    expect(failure).toMatchObject({ name: 'ValidationFailed' });
  });

  it('runs eight functions (intake, transport, console, sender, sweep, feedback, webhooks, digest) on Node.js 24 for arm64, each with its configuration in the bundle, and no SMTP door unless enabled', () => {
    template.resourceCountIs('AWS::Lambda::Function', 8);
    template.resourceCountIs('AWS::ECS::Service', 0);
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler', Environment: { Variables: expect.objectContaining({ NOTICE_RELAY_CONFIG: '/var/task/config.json' }) } });
    }
  });

  it('posts webhooks from a queue and function of their own: encrypted, with a dead-letter queue and its alarm, the function reading only secrets and its records', () => {
    // Assess: the queue, its dead-letter queue, and the function behind it with partial batch responses
    const queues = template.findResources('AWS::SQS::Queue');
    const webhookQueue = Object.entries(queues).find(([id]) => /^Webhooks(Queue)/.test(id));
    const webhookDlq = Object.entries(queues).find(([id]) => /^WebhooksDeadLetterQueue/.test(id));
    expect(webhookQueue?.[1].Properties).toMatchObject({ SqsManagedSseEnabled: true, VisibilityTimeout: 360, RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [webhookDlq?.[0], 'Arn'] }, maxReceiveCount: 5 } });
    expect(webhookDlq?.[1].Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 1_209_600 });
    const functionsById = template.findResources('AWS::Lambda::Function');
    const webhooksFunction = Object.entries(functionsById).find(([, fn]) => (fn.Properties as { Description?: string }).Description === 'Notice Relay webhooks');
    expect(webhooksFunction?.[1].Properties).toMatchObject({ Timeout: 60, MemorySize: 256, Environment: { Variables: expect.objectContaining({ NOTICE_RELAY_WEBHOOK_QUEUE_URL: expect.anything() }) } });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: webhooksFunction?.[0] },
      EventSourceArn: { 'Fn::GetAtt': [webhookQueue?.[0], 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('^Webhook events reached the dead-letter queue'),
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [webhookDlq?.[0], 'QueueName'] } }],
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Alarms') }],
    });
    // Least privilege: the webhook function's own policy reads and records its records and sends its next try, no more.
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify((policy as { Properties: { Roles: unknown } }).Properties.Roles).includes('webhooksRole'),
    );
    const actions = policies.flatMap((policy) => (policy as { Properties: { PolicyDocument: { Statement: Array<{ Action: string | string[] }> } } }).Properties.PolicyDocument.Statement.flatMap(actionsOf)).sort();
    expect(actions.filter((action) => !action.startsWith('logs:'))).toEqual(
      expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:UpdateItem', 'sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage']),
    );
    expect(actions.filter((action) => /^(ses|dynamodb:(Query|Scan|DeleteItem|BatchWriteItem|PutItem))/.test(action))).toEqual([]);
  });

  it('bundles the same code and configuration into the same assets on every synth, so a deploy changes only what changed', () => {
    // Prepare
    const codeKeys = (stack: Template) => Object.values(stack.findResources('AWS::Lambda::Function')).map((fn) => (fn.Properties as { Code: { S3Key: string } }).Code.S3Key);
    // Act: a second synth, into another folder
    const again = Template.fromStack(buildApp({ configPath: 'config/example.json', outdir: outdir(), env: {} }).stack);
    // Assess
    expect(codeKeys(again)).toEqual(codeKeys(template));
  });

  it('stores notices in an on-demand table with recovery, retention and the sparse due index', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      // A week of recovery: deleted notices do not stay restorable long after retention.
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 7 },
      TimeToLiveSpecification: { AttributeName: 'expireAt', Enabled: true },
      // The very indexes the local runtime creates on dynalite: one definition, no drift.
      GlobalSecondaryIndexes: createTableInput('notices').GlobalSecondaryIndexes,
      AttributeDefinitions: createTableInput('notices').AttributeDefinitions,
    });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: Match.arrayWith([{ IndexName: 'due', KeySchema: [{ AttributeName: 'dueShard', KeyType: 'HASH' }, { AttributeName: 'dueAt', KeyType: 'RANGE' }], Projection: { ProjectionType: 'KEYS_ONLY' } }]),
    });
    // Kept when the stack goes; removed when a first deploy rolls back, so the next try can create it.
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'RetainExceptOnCreate', UpdateReplacePolicy: 'Retain' });
  });

  it('wires the queue to the sender with a dead-letter queue, partial batch responses, a batching window and bounded concurrency', () => {
    const timings = senderTimings(example.sender);
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: timings.visibilityTimeoutSeconds,
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: 5 },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: example.sender.batchSize,
      MaximumBatchingWindowInSeconds: example.sender.batchingWindowSeconds,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: example.sender.concurrency },
    });
    template.hasResourceProperties('AWS::Lambda::Function', { Description: 'Notice Relay sender', Timeout: timings.functionTimeoutSeconds });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Threshold: 0, MetricName: 'ApproximateNumberOfMessagesVisible' });
  });

  it('runs the sweep every minute', () => {
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)', Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('sweep'), 'Arn'] } })] });
  });

  it('runs the daily digest every 15 minutes, with an alarm when it fails, and lets it read the byInstitution index, write the digest and ring its doorbell, and no more', () => {
    // Prepare
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Array<{ Properties: { Roles: Array<{ Ref: string }>; PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown }> } } }>;
    const digestStatements = policies.filter((policy) => policy.Properties.Roles.some((role) => role.Ref.startsWith('FunctionsdigestRole'))).flatMap((policy) => policy.Properties.PolicyDocument.Statement);
    // Act
    const actions = digestStatements.flatMap(actionsOf).sort();
    const queried = JSON.stringify(digestStatements.filter((statement) => actionsOf(statement).includes('dynamodb:Query')).map((statement) => statement.Resource));
    // Assess
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(15 minutes)', Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('digest'), 'Arn'] } })] });
    template.hasResourceProperties('AWS::Lambda::Function', { Description: 'Notice Relay digest', Timeout: 300 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^Functionsdigest') } }], AlarmActions: [{ Ref: Match.stringLikeRegexp('^Alarms') }] });
    expect(actions.filter((action) => !action.startsWith('logs:'))).toEqual(['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'sqs:SendMessage']);
    expect(queried).toMatch(/index\/byInstitution/);
    expect(queried).not.toMatch(/index\/(due|byAddress|byExternalId)/);
  });

  it('sets up SES with Easy DKIM, a MAIL FROM that rejects rather than falls back, and events to EventBridge', () => {
    template.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: 'library.example.org',
      MailFromAttributes: { MailFromDomain: 'bounce.library.example.org', BehaviorOnMxFailure: 'REJECT_MESSAGE' },
      ConfigurationSetAttributes: { ConfigurationSetName: Match.anyValue() },
    });
    template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      EventDestination: { Enabled: true, MatchingEventTypes: ['delivery', 'bounce', 'complaint', 'reject', 'deliveryDelay'], EventBridgeDestination: { EventBusArn: Match.anyValue() } },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.ses'], 'detail-type': ['Email Delivered', 'Email Bounced', 'Email Complaint Received', 'Email Rejected', 'Email Delivery Delayed'] },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('feedback'), 'Arn'] } })],
    });
    // A delivery event that came before `sent` was recorded is tried again, and one never recorded is kept.
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 21600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^UnrecordedFeedback'), 'Arn'] } } },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { MessageRetentionPeriod: 1_209_600, SqsManagedSseEnabled: true });
  });

  it('sends the Test Server\'s paths to the transport function, the console\'s to the console function, and every other path, the root included, to the intake, over TLS 1.2 or later', () => {
    // Prepare: each resource's full path, and the function each method of it invokes
    const resources = template.findResources('AWS::ApiGateway::Resource') as Record<string, { Properties: { PathPart: string; ParentId: { Ref?: string } } }>;
    const pathOf = (id: string | undefined): string => {
      const resource = id ? resources[id] : undefined;
      return resource ? `${pathOf(resource.Properties.ParentId.Ref)}/${resource.Properties.PathPart}` : '';
    };
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method')) as Array<{ Properties: { HttpMethod: string; ResourceId: { Ref?: string }; Integration: { Type: string; Uri: unknown } } }>;
    // Act
    const routes = methods.map((method) => [
      pathOf(method.Properties.ResourceId.Ref) || '/',
      method.Properties.HttpMethod,
      method.Properties.Integration.Type,
      /Functions(intake|transport|console)/.exec(JSON.stringify(method.Properties.Integration.Uri))?.[1],
    ]);
    // Assess
    expect(routes.sort()).toEqual(
      [
        ['/', 'ANY', 'AWS_PROXY', 'intake'],
        ['/v1', 'ANY', 'AWS_PROXY', 'intake'],
        ['/v1/transport', 'ANY', 'AWS_PROXY', 'transport'],
        ['/v1/transport/{proxy+}', 'ANY', 'AWS_PROXY', 'transport'],
        ['/console', 'ANY', 'AWS_PROXY', 'console'],
        ['/console/{proxy+}', 'ANY', 'AWS_PROXY', 'console'],
        ['/v1/{proxy+}', 'ANY', 'AWS_PROXY', 'intake'],
        ['/{proxy+}', 'ANY', 'AWS_PROXY', 'intake'],
      ].sort(),
    );
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { SecurityPolicy: 'TLS_1_2' });
  });

  it('hands every request body to the functions as its bytes, so that a body not in UTF-8 is refused, not read as U+FFFD', () => {
    // Every method is a Lambda proxy (above), which takes */* without a contentHandling of its own.
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { BinaryMediaTypes: ['*/*'] });
  });

  it('gives the API throttling, access logs, error-only execution logs without bodies, and JSON refusals', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'prod',
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.anyValue() },
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100, LoggingLevel: 'ERROR', DataTraceEnabled: false })],
    });
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'THROTTLED',
      ResponseParameters: Match.objectLike({ 'gatewayresponse.header.Retry-After': "'1'" }),
      ResponseTemplates: { 'application/json': JSON.stringify({ error: { code: 'rate_limited', message: 'Too many requests for this API; retry after a short wait.', details: [] } }) },
    });
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', { ResponseType: 'REQUEST_TOO_LARGE' });
    // An unknown path is a 404, as the API itself answers, not API Gateway's 403.
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', { ResponseType: 'MISSING_AUTHENTICATION_TOKEN', StatusCode: '404' });
  });

  it('creates an empty secret for the institution that needs one, whose value no change of configuration rewrites', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    // Named after the stack and the institution, with a suffix from the stack's own id: a stack deleted and
    // deployed again under the same name gets new secrets instead of colliding with those the old one kept.
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: { 'Fn::Join': ['', ['notice-relay/NoticeRelay/branch-', { 'Fn::Select': [0, { 'Fn::Split': ['-', { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }] }] }]] },
      SecretString: '{}',
    });
    template.hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'RetainExceptOnCreate' });
    expect(secretTemplate(example.institutions.find((inst) => inst.id === 'branch')!)).toEqual({ servers: [{ pass: '' }, null], dkimPrivateKey: '', webhooks: [{ url: 'https://ils.branch.example.edu/notice-relay/events', secret: '' }] });
  });

  it('leaves a refresh token field in the secret of every OAuth2 server, to stay empty for Microsoft 365 application access', () => {
    const microsoft = aConfig();
    microsoft.institutions[0] = {
      ...microsoft.institutions[0]!,
      transport: { kind: 'smtp', servers: [{ host: 'smtp.office365.com', port: 587, tls: 'starttls', allowNonSecure: false, auth: { type: 'oauth2', provider: 'microsoft', user: 'notices@library.example.org', clientId: 'app' } }] },
    };
    expect(secretTemplate(microsoft.institutions[0]!)).toEqual({ servers: [{ clientSecret: '', refreshToken: '' }] });
  });

  it('grants each function only what it uses: no Scan anywhere, no wildcard SES permission', () => {
    const all = statements(template);
    expect(all.flatMap(actionsOf)).not.toContain('dynamodb:Scan');
    const ses = all.filter((statement) => actionsOf(statement).some((action) => action.startsWith('ses:')));
    expect(ses.length).toBeGreaterThan(0);
    for (const statement of ses) {
      expect(actionsOf(statement)).toEqual(['ses:SendRawEmail']);
      expect(JSON.stringify(statement.Resource)).not.toMatch(/"\*"|identity\/\*|:\*"/);
      expect(JSON.stringify(statement.Resource)).toContain('identity/library.example.org');
      expect(statement.Condition).toEqual({ StringEquals: { 'ses:FromAddress': ['notices@library.example.org'] } });
    }
    expect(all.flatMap(actionsOf).filter((action) => action.endsWith(':*'))).toEqual([]);
  });

  it('keeps the mail credentials and SES from the intake: only the functions that send may read them', () => {
    // Prepare
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Array<{ Properties: { Roles: Array<{ Ref: string }>; PolicyDocument: { Statement: Array<{ Action: string | string[] }> } } }>;
    const actionsOfRole = (name: string) =>
      policies.filter((policy) => policy.Properties.Roles.some((role) => role.Ref.startsWith(`Functions${name}Role`))).flatMap((policy) => policy.Properties.PolicyDocument.Statement.flatMap(actionsOf));
    const sending = (actions: string[]) => actions.filter((action) => /^(ses|secretsmanager):/.test(action)).sort();
    // Assess
    expect(sending(actionsOfRole('intake'))).toEqual([]);
    expect(sending(actionsOfRole('transport'))).toEqual(['secretsmanager:GetSecretValue', 'ses:SendRawEmail']);
    expect(sending(actionsOfRole('sender'))).toEqual(['secretsmanager:GetSecretValue', 'ses:SendRawEmail']);
    // The console runs the Test Server (and reads the DKIM key for its DNS page).
    expect(sending(actionsOfRole('console'))).toEqual(['secretsmanager:GetSecretValue', 'ses:SendRawEmail']);
    expect(sending([...actionsOfRole('sweep'), ...actionsOfRole('feedback'), ...actionsOfRole('digest')])).toEqual([]);
  });

  it('gives the console what its pages and actions use, and no more: never the due index, a scan or a table change', () => {
    // Prepare
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Array<{ Properties: { Roles: Array<{ Ref: string }>; PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown }> } } }>;
    const consoleStatements = policies.filter((policy) => policy.Properties.Roles.some((role) => role.Ref.startsWith('FunctionsconsoleRole'))).flatMap((policy) => policy.Properties.PolicyDocument.Statement);
    const intakeQueries = policies
      .filter((policy) => policy.Properties.Roles.some((role) => role.Ref.startsWith('FunctionsintakeRole')))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
      .filter((statement) => actionsOf(statement).includes('dynamodb:Query'));
    // Act
    const dynamodb = consoleStatements.flatMap(actionsOf).filter((action) => action.startsWith('dynamodb:')).sort();
    const queried = JSON.stringify(consoleStatements.filter((statement) => actionsOf(statement).includes('dynamodb:Query')).map((statement) => statement.Resource));
    // Assess
    expect(dynamodb).toEqual(['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
    expect(queried).toMatch(/index\/byAddress/);
    expect(queried).not.toMatch(/index\/due/);
    expect(consoleStatements.flatMap(actionsOf)).toContain('sqs:SendMessage');
    // The intake, which has no search by address, may not read that index.
    expect(JSON.stringify(intakeQueries.map((statement) => statement.Resource))).not.toMatch(/byAddress/);
    // The DNS page knows the Easy DKIM tokens the stack made.
    template.hasResourceProperties('AWS::Lambda::Function', { Description: 'Notice Relay console', Timeout: 30, Environment: { Variables: Match.objectLike({ NOTICE_RELAY_DKIM_TOKENS: Match.anyValue() }) } });
  });

  it('outputs the API URL and each DNS record as a DNS administrator pastes it', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.MailFromSpfLibraryExampleOrg?.Value).toBe('bounce.library.example.org TXT "v=spf1 include:amazonses.com ~all"');
    expect(outputs.DmarcLibraryExampleOrg?.Value).toBe('_dmarc.library.example.org TXT "v=DMARC1; p=none; rua=mailto:it@library.example.org"');
    expect(outputs.DmarcBranchExampleEdu?.Value).toBe('_dmarc.branch.example.edu TXT "v=DMARC1; p=none; rua=mailto:it@branch.example.edu"');
    expect(outputs.MailFromMxLibraryExampleOrg?.Value).toEqual({ 'Fn::Join': ['', ['bounce.library.example.org MX 10 feedback-smtp.', { Ref: 'AWS::Region' }, '.amazonses.com']] });
    for (const n of [1, 2, 3]) {
      expect(outputs[`Dkim${n}LibraryExampleOrg`]?.Value).toEqual({
        'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.any(String), `DkimDNSTokenName${n}`] }, ' CNAME ', { 'Fn::GetAtt': [expect.any(String), `DkimDNSTokenValue${n}`] }]],
      });
    }
    expect(outputs.DkimTxtBranch?.Value).toBe('notices._domainkey.branch.example.edu TXT "v=DKIM1; k=rsa; p=<the public key of the DKIM private key>"');
    expect(outputs.SecretBranch?.Value).toEqual({ Ref: expect.stringMatching(/^SecretsSecretbranch/) });
    // The base URL, without /v1, as the local banner prints it: docs/integrator/api.md's $API/v1/... works with both.
    expect(outputs.ApiUrl?.Value).toEqual({
      'Fn::Join': ['', ['https://', { Ref: expect.stringMatching(/^Api/) }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/', { Ref: expect.any(String) }]],
    });
    expect(Object.keys(outputs).filter((key) => key.startsWith('ApiEndpoint'))).toEqual([]);
    expect(JSON.stringify(outputs.ConsoleUrl?.Value)).toMatch(/\/console"\]\]\}$/);
    expect(outputs.EgressIps).toBeUndefined();
  });

  it('alarms on dead letters (doorbells and webhooks), backlogs, function errors and throttles, API 5xx, a sweep that fails or stops, paused and stalled sending, SES reputation and unrecorded SES feedback', () => {
    const alarms = Object.keys(template.findResources('AWS::CloudWatch::Alarm')).map((id) => id.replace(/[0-9A-F]{8}$/, ''));
    expect(alarms.sort()).toEqual(
      [
        'Api5xx',
        'AuthFailureAlarmtransport',
        'DigestErrors',
        'DoorbellsBacklog',
        'DoorbellsDeadLetters',
        'FeedbackUnrecorded',
        'IntakeErrors',
        'IntakeThrottles',
        'SenderErrors',
        'SenderThrottles',
        'SesBounceRate',
        'SesComplaintRate',
        'SweepErrors',
        'SweepNotRunning',
        'TransportErrors',
        'TransportPausedAlarm',
        'TransportStalledbranch',
        'TransportStalleddemo',
        'TransportThrottles',
        'WebhooksDeadLetters',
        'WebhooksErrors',
      ].sort(),
    );
    // A schedule that stopped sends no data at all: that must raise the alarm, not hide it.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Invocations', ComparisonOperator: 'LessThanThreshold', Threshold: 1, TreatMissingData: 'breaching' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^Functionssweep') } }] });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Throttles', Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^Functionsintake') } }] });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/ApiGateway', MetricName: '5XXError' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^UnrecordedFeedback'), 'QueueName'] } }],
    });
    // Half the rates at which SES reviews an account.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/SES', MetricName: 'Reputation.BounceRate', Threshold: 0.025, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/SES', MetricName: 'Reputation.ComplaintRate', Threshold: 0.0005, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    template.hasResourceProperties('AWS::Logs::MetricFilter', { FilterPattern: '{ $.message = "transport paused" }' });
    template.hasResourceProperties('AWS::Logs::MetricFilter', { FilterPattern: '{ $.message = "transport authentication failed" }' });
    // One stall alarm per institution, on the sweep's line, which tells the topic again when the stall ends.
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ $.message = "transport stall continues" }',
      MetricTransformations: [Match.objectLike({ MetricName: 'TransportStalled', Dimensions: [{ Key: 'Institution', Value: '$.institution' }] })],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'TransportStalled',
      Dimensions: [{ Name: 'Institution', Value: 'branch' }],
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Alarms') }],
      OKActions: [{ Ref: Match.stringLikeRegexp('^Alarms') }],
    });
  });

  it('names the stack configuration set on every SES message, so events come back whatever the identity', () => {
    const runtime = JSON.parse(MailIdentities.runtimeWithConfigurationSets(loadDeployableConfig('config/example.json', {}).runtimeJson, 'notice-relay-noticerelay'));
    expect(runtime.institutions[0].transport).toMatchObject({ kind: 'ses', configurationSet: 'notice-relay-noticerelay' });
    expect(runtime.institutions[1].transport.configurationSet).toBeUndefined();
  });
});

describe('Stack: NoticeRelay with an SES identity that already exists', () => {
  const dir = temporary.make('config-');
  const config = JSON.parse(readFileSync('config/example.json', 'utf8'));
  config.institutions[0].transport.existingIdentity = true;
  writeFileSync(join(dir, 'existing.json'), JSON.stringify(config));
  const built = buildApp({ configPath: join(dir, 'existing.json'), outdir: outdir(), env: {} });
  const template = Template.fromStack(built.stack);

  it('uses the identity as it is instead of creating it, sends with its own configuration set, and says where its DKIM tokens are', () => {
    template.resourceCountIs('AWS::SES::EmailIdentity', 0);
    template.resourceCountIs('AWS::SES::ConfigurationSet', 1);
    // The sender may still send as the identity.
    const sending = statements(template).find((statement) => actionsOf(statement).includes('ses:SendRawEmail'));
    expect(JSON.stringify(sending?.Resource)).toContain(':identity/library.example.org');
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown; Description: string }>;
    expect(Object.keys(outputs).filter((key) => key.startsWith('Dkim') && key.endsWith('LibraryExampleOrg'))).toEqual([]);
    expect(outputs.ExistingIdentityLibraryExampleOrg?.Description).toMatch(/aws sesv2 get-email-identity --email-identity library\.example\.org/);
    expect(outputs.MailFromMxLibraryExampleOrg).toBeDefined();
    expect(() => built.app.synth()).not.toThrow();
  });
});

describe('Stack: NoticeRelay with static egress', () => {
  const built = buildApp({ configPath: 'config/example.json', staticEgress: true, outdir: outdir(), env: {} });
  const template = Template.fromStack(built.stack);

  it('sends from the Elastic IPs it outputs, through NAT gateways, and passes cdk-nag', () => {
    template.resourceCountIs('AWS::EC2::EIP', 2);
    template.resourceCountIs('AWS::EC2::NatGateway', 2);
    template.hasResourceProperties('AWS::EC2::NatGateway', { AllocationId: { 'Fn::GetAtt': [Match.stringLikeRegexp('EgressIp'), 'AllocationId'] } });
    // Those that reach the relays (the sender and the Test Server's two) go out through the NAT; the others need no VPC.
    const inVpc = Object.values(template.findResources('AWS::Lambda::Function'))
      .filter((fn) => fn.Properties.VpcConfig)
      .map((fn) => fn.Properties.Description)
      .sort();
    expect(inVpc).toEqual(['Notice Relay console', 'Notice Relay sender', 'Notice Relay transport']);
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(JSON.stringify(outputs.EgressIps?.Value)).toMatch(/EgressIp1.*EgressIp2/);
    expect(() => built.app.synth()).not.toThrow();
  });
});

describe('Stack: NoticeRelay with the SMTP door (smtpSubmission.enabled)', () => {
  // Prepare: the example with the door on; its branch's ILS sends without a login from the campus's public address
  const dir = temporary.make('config-');
  const input = JSON.parse(readFileSync('config/example.json', 'utf8'));
  input.smtpSubmission = { enabled: true, hostName: 'notices-smtp.library.example.org' };
  writeFileSync(join(dir, 'door.json'), JSON.stringify(input));
  const built = buildApp({ configPath: join(dir, 'door.json'), outdir: outdir(), env: {} });
  const template = Template.fromStack(built.stack);

  it('synthesizes offline, without Docker, its image an asset built from infra/smtp-door/Dockerfile for arm64, and passes cdk-nag', () => {
    // Act
    const assembly = built.app.synth();
    // Assess
    const manifest = JSON.parse(readFileSync(join(assembly.directory, 'NoticeRelay.assets.json'), 'utf8')) as { dockerImages: Record<string, { source: { directory: string; dockerFile: string; platform: string } }> };
    const images = Object.values(manifest.dockerImages);
    expect(images).toHaveLength(1);
    expect(images[0]?.source).toMatchObject({ dockerFile: 'infra/smtp-door/Dockerfile', platform: 'linux/arm64' });
    // The image's context is what its bundle reads, no more: a change to a test or a handler builds no new image.
    expect(readdirSync(join(assembly.directory, images[0]!.source.directory)).sort()).toEqual(['infra', 'package-lock.json', 'package.json', 'shared', 'tsconfig.json']);
  });

  it('runs at least two arm64 Fargate tasks, spread over two zones, scaled on connections and CPU, stopped gently', () => {
    template.hasResourceProperties('AWS::ECS::Service', { LaunchType: 'FARGATE', DesiredCount: 2, DeploymentConfiguration: Match.objectLike({ MinimumHealthyPercent: 100, DeploymentCircuitBreaker: { Enable: true, Rollback: true } }) });
    const subnets = Object.values(template.findResources('AWS::EC2::Subnet'));
    expect(new Set(subnets.map((subnet) => JSON.stringify(subnet.Properties.AvailabilityZone))).size).toBe(2);
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      RequiresCompatibilities: ['FARGATE'],
      ContainerDefinitions: [
        Match.objectLike({
          PortMappings: [Match.objectLike({ ContainerPort: 2587 }), Match.objectLike({ ContainerPort: 2465 })],
          HealthCheck: Match.objectLike({ Command: ['CMD', 'node', 'health-check.cjs', '2587'] }),
          StopTimeout: 45,
          ReadonlyRootFilesystem: true,
        }),
      ],
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 2, MaxCapacity: 10 });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', { PolicyType: 'TargetTrackingScaling', TargetTrackingScalingPolicyConfiguration: Match.objectLike({ PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' } }) });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ActiveFlowCount', Namespace: 'AWS/NetworkELB' });
    template.hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] });
  });

  it('listens on 587 and 465 behind an internet-facing Network Load Balancer that keeps the client address, the door judged by its health', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Type: 'network', Scheme: 'internet-facing' });
    for (const [listener, container] of [[587, 2587], [465, 2465]]) {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: listener, Protocol: 'TCP' });
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
        Port: container,
        Protocol: 'TCP',
        TargetType: 'ip',
        HealthCheckPort: '2587',
        TargetGroupAttributes: Match.arrayWith([{ Key: 'preserve_client_ip.enabled', Value: 'true' }]),
      });
    }
  });

  it('opens the load balancer to allowFrom and loginFrom alone, and the tasks to the load balancer alone', () => {
    // Prepare
    const groups = template.findResources('AWS::EC2::SecurityGroup');
    const balancer = Object.entries(groups).find(([id]) => id.startsWith('SmtpDoorBalancerSecurityGroup'))?.[1] as { Properties: { SecurityGroupIngress: Array<Record<string, unknown>> } };
    const ingress = balancer.Properties.SecurityGroupIngress.map((rule) => `${rule.CidrIp ?? rule.CidrIpv6} ${rule.FromPort}`).sort();
    // Assess
    expect(ingress).toEqual(['0.0.0.0/0 465', '0.0.0.0/0 587', '203.0.113.25/32 465', '203.0.113.25/32 587', '::/0 465', '::/0 587']);
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { FromPort: 2587, SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SmtpDoorBalancerSecurityGroup'), 'GroupId'] } });
    const tasks = Object.entries(groups).find(([id]) => id.startsWith('SmtpDoorTaskSecurityGroup'))?.[1] as { Properties: { SecurityGroupIngress?: unknown[] } };
    expect(tasks.Properties.SecurityGroupIngress).toBeUndefined();
  });

  it("grants the tasks the intake's store and queue actions and their own certificate: no Query, Scan, SES or relay secret", () => {
    // Prepare
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Array<{ Properties: { Roles: Array<{ Ref: string }>; PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown }> } } }>;
    const taskRole = policies.filter((policy) => policy.Properties.Roles.some((role) => /^SmtpDoorTaskTaskRole/.test(role.Ref)));
    const actions = taskRole.flatMap((policy) => policy.Properties.PolicyDocument.Statement.flatMap(actionsOf)).sort();
    // Assess
    expect(actions).toEqual(['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'sqs:SendMessage']);
    const secretStatement = taskRole.flatMap((policy) => policy.Properties.PolicyDocument.Statement).find((statement) => actionsOf(statement).includes('secretsmanager:GetSecretValue'));
    expect(secretStatement?.Resource).toEqual({ Ref: expect.stringMatching(/^SmtpDoorTlsSecret/) });
    // The task's environment names the secret; no secret value is in the template.
    const container = (Object.values(template.findResources('AWS::ECS::TaskDefinition'))[0] as { Properties: { ContainerDefinitions: Array<{ Environment: Array<{ Name: string; Value: unknown }> }> } }).Properties.ContainerDefinitions[0]!;
    expect(container.Environment.map((variable) => variable.Name).sort()).toEqual(['NOTICE_RELAY_CONFIG_JSON', 'NOTICE_RELAY_QUEUE_URL', 'NOTICE_RELAY_SMTP_TLS_SECRET', 'NOTICE_RELAY_TABLE', 'POWERTOOLS_LOG_LEVEL', 'POWERTOOLS_SERVICE_NAME']);
  });

  it("names the certificate's secret with the suffix of this deployment, as the institutions' secrets, and keeps it when the stack goes", () => {
    // A stack deleted and deployed again under the same name gets a new, empty secret instead of colliding
    // with the one the old stack kept.
    const [tlsSecret] = Object.entries(template.findResources('AWS::SecretsManager::Secret')).filter(([id]) => id.startsWith('SmtpDoorTlsSecret'));
    expect(tlsSecret?.[1]).toMatchObject({
      DeletionPolicy: 'RetainExceptOnCreate',
      Properties: {
        Name: { 'Fn::Join': ['', ['notice-relay/NoticeRelay/smtp-door-tls-', { 'Fn::Select': [0, { 'Fn::Split': ['-', { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }] }] }]] },
        SecretString: '{}',
      },
    });
  });

  it('alarms on the door\'s errors and on fewer than two healthy tasks, to the alarm topic', () => {
    // The door's own two, beside the target-tracking pair its scaling makes.
    const doorAlarms = Object.keys(template.findResources('AWS::CloudWatch::Alarm')).filter((id) => id.startsWith('SmtpDoor') && !id.includes('TaskCountTarget'));
    expect(doorAlarms.map((id) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(['SmtpDoorErrorsAlarm', 'SmtpDoorUnhealthyAlarm']);
    template.hasResourceProperties('AWS::Logs::MetricFilter', { FilterPattern: '{ $.level = "ERROR" }', MetricTransformations: [Match.objectLike({ MetricName: 'SmtpDoorErrors' })] });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'SmtpDoorErrors', AlarmActions: [{ Ref: Match.stringLikeRegexp('^Alarms') }] });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'HealthyHostCount', Threshold: 2, ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'breaching', AlarmActions: [{ Ref: Match.stringLikeRegexp('^Alarms') }] });
  });

  it('outputs the host, the ports, the CNAME to publish and the secret to fill', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.SmtpHost?.Value).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^SmtpDoorLoadBalancer/), 'DNSName'] });
    expect(outputs.SmtpPorts?.Value).toBe('587 (STARTTLS), 465 (implicit TLS)');
    expect(outputs.SmtpCname?.Value).toEqual({ 'Fn::Join': ['', ['notices-smtp.library.example.org CNAME ', { 'Fn::GetAtt': [expect.stringMatching(/^SmtpDoorLoadBalancer/), 'DNSName'] }, '.']] });
    expect(outputs.SmtpTlsSecret?.Value).toEqual({ Ref: expect.stringMatching(/^SmtpDoorTlsSecret/) });
  });
});

describe('Function: loadDeployableConfig', () => {
  it('refuses a configuration that holds secrets, naming each', () => {
    // Prepare
    const dir = temporary.make('config-');
    const local = JSON.parse(readFileSync('config/local.json', 'utf8'));
    local.institutions[0].transport.servers[0].auth = { user: 'relay', pass: 'secret-password' };
    writeFileSync(join(dir, 'secrets.json'), JSON.stringify(local));
    // Act
    const run = () => loadDeployableConfig(join(dir, 'secrets.json'), { NOTICE_RELAY_SINK_SMTP_PORT: '25' });
    // Assess
    expect(run).toThrow(ConfigError);
    try {
      run();
    } catch (error) {
      expect((error as ConfigError).details.map((d) => d.path)).toEqual(['institutions[0].apiKeys', 'institutions[0].consoleKeys', 'institutions[0].transport.servers[0].auth.pass', 'institutions[1].apiKeys']);
    }
  });

  it('gives the functions the validated configuration, with its variables expanded', () => {
    const { runtimeJson, config } = loadDeployableConfig('config/example.json', {});
    expect(JSON.parse(runtimeJson)).toEqual(config);
  });
});
