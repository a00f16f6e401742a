// The HTTPS API the ILS calls: a REST API whose every path goes to the intake function, throttled, with
// access logs, and whose own refusals (throttling, oversized requests) answer in the API's JSON error shape.
import { Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
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

export const STAGE_NAME = 'prod';

/** An error body as the API writes its own (lambdas/intake/http.ts). */
const errorTemplate = (code: string, message: string) => JSON.stringify({ error: { code, message, details: [] } });

/** API Gateway's own refusals, answered as the API answers. */
const GATEWAY_RESPONSES: Array<[ResponseType, string, string]> = [
  [Responses.THROTTLED, 'rate_limited', 'Too many requests for this API; retry after a short wait.'],
  [Responses.QUOTA_EXCEEDED, 'rate_limited', 'The request quota is used up; retry later.'],
  [Responses.REQUEST_TOO_LARGE, 'request_too_large', 'A request is at most 6 MB; send smaller batches.'],
  [Responses.MISSING_AUTHENTICATION_TOKEN, 'not_found', 'There is no such path; see GET /v1/openapi.json.'],
  [Responses.DEFAULT_5XX, 'unavailable', 'The service could not take the request; nothing was accepted. Retry; a request near 6 MB may be too large to pass.'],
];

export class NoticeApi extends Construct {
  public readonly api: RestApi;

  public constructor(scope: Construct, id: string, props: { intake: IFunction; rateLimit: number; burstLimit: number }) {
    super(scope, id);
    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.ONE_MONTH });
    this.api = new RestApi(this, 'Api', {
      restApiName: 'notice-relay',
      description: 'Notice Relay: library notices in, email out',
      endpointConfiguration: { types: [EndpointType.REGIONAL] },
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
    const integration = new LambdaIntegration(props.intake, { proxy: true });
    this.api.root.addProxy({ defaultIntegration: integration, anyMethod: true });
    for (const [type, code, message] of GATEWAY_RESPONSES) {
      this.api.addGatewayResponse(`Response-${code}-${type.responseType}`, {
        type,
        responseHeaders: { 'Content-Type': "'application/json'" },
        templates: { 'application/json': errorTemplate(code, message) },
      });
    }
    Validations.of(this.api).acknowledge({ id: 'AwsSolutions-APIG2', reason: 'The intake function validates every request and answers with every problem by path; a gateway model would answer less precisely.' });
    Validations.of(this.api).acknowledge({ id: 'AwsSolutions-APIG3', reason: 'WAF is optional: API keys are checked by the intake function and the stage is throttled; an institution may attach a web ACL.' });
    Validations.of(this.api).acknowledge({ id: 'AwsSolutions-APIG4', reason: 'The intake function authenticates every request with a per-institution API key (Bearer or x-api-key), compared in constant time; health and the OpenAPI document are public by design.' });
    Validations.of(this.api).acknowledge({ id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]', reason: 'API Gateway writes its execution logs with the AWS managed push-to-CloudWatch role.' });
    Validations.of(this.api).acknowledge({ id: 'AwsSolutions-COG4', reason: 'ILS systems authenticate with API keys, not Cognito users.' });
  }
}
