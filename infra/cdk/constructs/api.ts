// The HTTPS API the ILS calls: a REST API whose paths go to the intake function, but the Test Server's
// (/v1/transport…), which go to the transport function, and the staff console's (/console…), which go to
// the console function; throttled, with access logs, and whose own refusals (throttling, oversized
// requests) answer in the API's JSON error shape.
import { Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  type CfnRestApi,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  type ResponseType,
  ResponseType as Responses,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BINARY_MEDIA_TYPES } from '../../../lambdas/intake/gateway-body';
import { GATEWAY_REFUSALS, type GatewayRefusal, refusalBody } from '../../../lambdas/intake/gateway-refusals';
import { TRANSPORT_PATH } from '../../../lambdas/transport/transport-handler';
import { CONSOLE_PATH } from '../../../lambdas/console/http';

export const STAGE_NAME = 'prod';

interface GatewayResponseSpec {
  type: ResponseType;
  refusal: GatewayRefusal;
  /** When API Gateway's own status is not the one the API uses for it. */
  statusCode?: string;
  headers?: Record<string, string>;
}

/** API Gateway's own refusals, answered as the API answers. */
const GATEWAY_RESPONSES: GatewayResponseSpec[] = [
  { type: Responses.THROTTLED, refusal: GATEWAY_REFUSALS.throttled, headers: { 'Retry-After': "'1'" } },
  { type: Responses.QUOTA_EXCEEDED, refusal: GATEWAY_REFUSALS.quotaExceeded, headers: { 'Retry-After': "'60'" } },
  { type: Responses.REQUEST_TOO_LARGE, refusal: GATEWAY_REFUSALS.tooLarge },
  // API Gateway's name for a path or method it has no route for; its own status is 403.
  { type: Responses.MISSING_AUTHENTICATION_TOKEN, refusal: GATEWAY_REFUSALS.noRoute, statusCode: '404' },
  { type: Responses.DEFAULT_5XX, refusal: GATEWAY_REFUSALS.unavailable },
];

export class NoticeApi extends Construct {
  public readonly api: RestApi;

  public constructor(scope: Construct, id: string, props: { intake: IFunction; transport: IFunction; console: IFunction; rateLimit: number; burstLimit: number }) {
    super(scope, id);
    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.ONE_MONTH });
    this.api = new RestApi(this, 'Api', {
      restApiName: 'notice-relay',
      description: 'Notice Relay: library notices in, email out',
      endpointConfiguration: { types: [EndpointType.REGIONAL] },
      // Every body reaches the functions as its bytes, so that one not in UTF-8 is refused rather than read
      // with U+FFFD in place of its bad bytes. Every method here is a Lambda proxy: a MOCK integration (a
      // CORS preflight) added later would need contentHandling CONVERT_TO_TEXT to work with */*.
      binaryMediaTypes: [...BINARY_MEDIA_TYPES],
      cloudWatchRole: true,
      deployOptions: {
        stageName: STAGE_NAME,
        throttlingRateLimit: props.rateLimit,
        throttlingBurstLimit: props.burstLimit,
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
        // Errors only, and never request or response bodies: they hold patron data.
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
      },
    });
    // The stack's own ApiUrl output names the API for IT; the automatic one would say it twice.
    this.api.node.tryRemoveChild('Endpoint');
    // TLS 1.2 at least: the default policy of a regional endpoint still takes TLS 1.0, and API keys travel here.
    (this.api.node.defaultChild as CfnRestApi).securityPolicy = 'TLS_1_2';
    const integration = new LambdaIntegration(props.intake, { proxy: true });
    // The root too goes to the intake (which answers 404 as JSON): addProxy puts ANY on it with the API's
    // default integration, a mock that fails, when the API has none.
    this.api.root.addMethod('ANY', integration);
    this.api.root.addProxy({ defaultIntegration: integration, anyMethod: true });
    // /v1/transport and every path under it go to the function that holds the mail credentials (as
    // infra/local/api-gateway.ts routes them locally). /v1 gets a greedy child of its own, beside which
    // the static transport resource wins, so no path depends on how API Gateway backtracks between levels.
    const v1 = this.api.root.resourceForPath(TRANSPORT_PATH.slice(0, TRANSPORT_PATH.lastIndexOf('/')));
    v1.addMethod('ANY', integration);
    v1.addProxy({ defaultIntegration: integration, anyMethod: true });
    const transport = new LambdaIntegration(props.transport, { proxy: true });
    const transportResource = this.api.root.resourceForPath(TRANSPORT_PATH);
    transportResource.addMethod('ANY', transport);
    transportResource.addProxy({ defaultIntegration: transport, anyMethod: true });
    // The staff console and everything under it (its pages, forms and assets) go to the console function,
    // a static resource beside the root's greedy one, as infra/local/api-gateway.ts routes it locally.
    const staffConsole = new LambdaIntegration(props.console, { proxy: true });
    const consoleResource = this.api.root.resourceForPath(CONSOLE_PATH);
    consoleResource.addMethod('ANY', staffConsole);
    consoleResource.addProxy({ defaultIntegration: staffConsole, anyMethod: true });
    for (const { type, refusal, statusCode, headers } of GATEWAY_RESPONSES) {
      this.api.addGatewayResponse(`Response-${refusal.code}-${type.responseType}`, {
        type,
        statusCode,
        responseHeaders: { 'Content-Type': "'application/json'", ...headers },
        templates: { 'application/json': refusalBody(refusal) },
      });
    }
    Validations.of(this.api).acknowledge({ id: 'AwsSolutions-APIG2', reason: 'The intake, transport and console functions validate every request and answer with every problem by path; a gateway model would answer less precisely.' });
    Validations.of(this.api).acknowledge({ id: 'AwsSolutions-APIG3', reason: 'WAF is optional: API keys are checked by the functions and the stage is throttled; an institution may attach a web ACL.' });
    Validations.of(this.api).acknowledge({ id: 'AwsSolutions-APIG4', reason: 'The intake and transport functions authenticate every request with a per-institution API key (Bearer or x-api-key), compared in constant time, and the console with a staff key and a session cookie; health, the OpenAPI document and the console sign-in page are public by design.' });
    Validations.of(this.api).acknowledge({ id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]', reason: 'API Gateway writes its execution logs with the AWS managed push-to-CloudWatch role.' });
    Validations.of(this.api).acknowledge({ id: 'AwsSolutions-COG4', reason: 'ILS systems authenticate with API keys, not Cognito users.' });
  }
}
