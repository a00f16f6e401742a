// The OpenAPI document the API serves, read as tests use it: each answer's status must be documented for
// its operation and each body must match the documented schema; and any schema of it (a request body's, a
// parameter's) can be looked up by JSON pointer and checked against, as test/support/openapi-arbitraries.ts
// does to derive inputs from it.
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import document from '../../lambdas/intake/openapi.json';

type Json = Record<string, unknown>;

const openapi = document as unknown as { paths: Record<string, Record<string, Json>>; components: { responses: Record<string, Json> } };

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
// The document's one extension: the most bytes a value may take as compact JSON in UTF-8 (a notice's 256 KiB).
ajv.addKeyword({ keyword: 'x-max-json-bytes', schemaType: 'number', validate: (max: number, data: unknown) => Buffer.byteLength(JSON.stringify(data) ?? '', 'utf8') <= max });
ajv.addSchema({ ...document, $id: 'openapi' });

/** A JSON pointer's segments joined, each escaped (RFC 6901). */
export const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

const validators = new Map<string, ReturnType<typeof ajv.compile>>();
/** One compiled validator per schema of the document, for checks made thousands of times. */
const validatorOf = (ref: string) => {
  let validate = validators.get(ref);
  if (!validate) {
    validate = ajv.compile({ $ref: ref });
    validators.set(ref, validate);
  }
  return validate;
};

/** Every operation of the document, as `METHOD /path`. */
export const documentedOperations = (): string[] =>
  Object.entries(openapi.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((key) => ['get', 'post', 'put', 'delete', 'patch'].includes(key))
      .map((method) => `${method.toUpperCase()} ${path}`),
  );

/** The path template of the document that a concrete path falls under, if any. */
export const findTemplate = (path: string): string | undefined =>
  Object.keys(openapi.paths).find((template) => new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path));

/** The path template of the document that a concrete path falls under. */
export const templateOf = (path: string): string => {
  const template = findTemplate(path);
  if (template === undefined) throw new Error(`no path of the OpenAPI document matches ${path}`);
  return template;
};

/** Whether `METHOD path` is an operation of the document. */
export const isDocumented = (method: string, path: string): boolean => {
  const template = findTemplate(path);
  return template !== undefined && openapi.paths[template]?.[method.toLowerCase()] !== undefined;
};

/**
 * Asserts that an answer is what the document says for `METHOD path`: a documented status, and a
 * body that validates against its schema. Answers `METHOD /template status` for coverage.
 */
export const checkAgainstOpenApi = (method: string, path: string, status: number, body: unknown): string => {
  const template = templateOf(path);
  const operation = openapi.paths[template]?.[method.toLowerCase()];
  if (!operation) throw new Error(`${method} ${template} is not in the OpenAPI document`);
  const responses = operation.responses as Record<string, Json>;
  let response = responses[String(status)];
  if (!response) throw new Error(`${method} ${template} answered ${status}, which the OpenAPI document does not list`);
  let responsePointer = pointer('paths', template, method.toLowerCase(), 'responses', String(status));
  if (typeof response.$ref === 'string') {
    responsePointer = response.$ref.slice(2);
    const name = response.$ref.split('/').pop() as string;
    response = openapi.components.responses[name] as Json;
  }
  if ((response.content as Json | undefined)?.['application/json']) {
    const validate = validatorOf(`openapi#/${responsePointer}/content/${pointer('application/json')}/schema`);
    if (!validate(body)) {
      throw new Error(`${method} ${template} ${status}: the body does not match the OpenAPI document: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`);
    }
  }
  return `${method} ${template}`;
};

/** The schema (or any part of the document) at a pointer like `#/components/schemas/NoticeInput`. */
export const schemaAt = (at: string): Json => {
  let node: unknown = document;
  for (const part of at.replace(/^#\/?/, '').split('/').filter(Boolean)) {
    node = (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  if (!node || typeof node !== 'object') throw new Error(`nothing in the OpenAPI document at ${at}`);
  return node as Json;
};

/** Whether a value is valid against the schema at a pointer, by the same validator the answers are checked with. */
export const isValidAt = (at: string, value: unknown): boolean => validatorOf(`openapi${at}`)(value) as boolean;

/** The pointer of an operation's part, e.g. `operationPointer('post', '/v1/notices', 'requestBody')`. */
export const operationPointer = (method: string, template: string, ...rest: string[]): string => `#/${pointer('paths', template, method.toLowerCase(), ...rest)}`;
