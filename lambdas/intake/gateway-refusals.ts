// What API Gateway itself answers before the intake runs, written as the API writes its own errors, so
// an ILS sees one error shape. The CDK stack sets these as gateway responses; the local gateway answers
// the same when it refuses a request the same way.
export interface GatewayRefusal {
  code: string;
  message: string;
}

export const GATEWAY_REFUSALS = {
  throttled: { code: 'rate_limited', message: 'Too many requests for this API; retry after a short wait.' },
  quotaExceeded: { code: 'rate_limited', message: 'The request quota is used up; retry later.' },
  tooLarge: { code: 'request_too_large', message: 'A request is at most 6 MB; send smaller batches.' },
  noRoute: { code: 'not_found', message: 'There is no such path; see GET /v1/openapi.json.' },
  // A function that failed or ran out of time may have stored part of a batch: the answer cannot say nothing was.
  unavailable: {
    code: 'unavailable',
    message: 'The service could not answer the request. Retry with the same Idempotency-Key, which never accepts a notice twice; on AWS a request over about 4.5 MB may be too large to pass: send smaller batches.',
  },
} as const satisfies Record<string, GatewayRefusal>;

/** The body of a refusal, as lambdas/intake/http.ts writes errors. */
export const refusalBody = (refusal: GatewayRefusal): string => JSON.stringify({ error: { code: refusal.code, message: refusal.message, details: [] } });
