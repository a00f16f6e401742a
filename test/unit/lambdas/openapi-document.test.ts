// The figures and patterns the OpenAPI document states are the very ones the API checks with: what the
// contract test (test/integration/openapi-contract.test.ts) samples, this compares whole.
import document from '../../../lambdas/intake/openapi.json';
import { NOTICE_STATUSES } from '../../../shared/notice/model';
import { ISO_TIMESTAMP, MAX_BATCH_NOTICES, MAX_NOTICE_BYTES } from '../../../shared/notice/validate';
import { EMAIL_ADDRESS, EMAIL_LOCAL_PART_LENGTH } from '../../../shared/validation';

const schemas = document.components.schemas;
const listParameter = (name: string) => document.paths['/v1/notices'].get.parameters.find((parameter) => parameter.name === name);

describe('Document: lambdas/intake/openapi.json', () => {
  it('states the address patterns the API checks an address with', () => {
    expect(schemas.Email.pattern).toBe(EMAIL_ADDRESS.source);
    expect(schemas.Email.allOf).toEqual([{ pattern: EMAIL_LOCAL_PART_LENGTH.source }]);
  });

  it('states the date-time pattern the API checks sendAt, expiresAt and since with (since also reading a space for +)', () => {
    expect(schemas.DateTimeInput.pattern).toBe(ISO_TIMESTAMP.source);
    expect(listParameter('since')?.schema).toEqual({ type: 'string', pattern: ISO_TIMESTAMP.source.replace('(?:Z|[+-]', '(?:Z|[+ -]') });
  });

  it('states the statuses, the size of a batch and the size of a notice the API holds to', () => {
    expect(schemas.Status.enum).toEqual([...NOTICE_STATUSES]);
    expect(schemas.BatchInput.properties.notices.maxItems).toBe(MAX_BATCH_NOTICES);
    expect(schemas.NoticeInput['x-max-json-bytes']).toBe(MAX_NOTICE_BYTES);
  });
});
