// How API Gateway hands a request's body to the functions behind it: set on the deployed API
// (infra/cdk/constructs/api.ts) and done the same by the local gateway (infra/local/api-gateway.ts).

/**
 * The content types whose bodies API Gateway hands on as bytes (base64, `isBase64Encoded`) rather than as
 * text: all of them. As text, a body that is not UTF-8 reaches the function with its bad bytes already
 * replaced by U+FFFD, which the intake could not tell from a character a patron's text holds; as bytes,
 * it is refused (415 `invalid_utf8`).
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings-workflow.html
 */
export const BINARY_MEDIA_TYPES: readonly string[] = ['*/*'];

/** Whether a request's body is handed on as bytes: its Content-Type matches a binary media type exactly, as type/*, or as *\/*. */
export const isBinaryMediaType = (contentType: string | undefined): boolean => {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  return BINARY_MEDIA_TYPES.some((pattern) => pattern === '*/*' || pattern === mediaType || (pattern.endsWith('/*') && mediaType.startsWith(pattern.slice(0, -1))));
};
