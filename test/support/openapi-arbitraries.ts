// fast-check arbitraries derived from the OpenAPI document at test time: values a schema of it allows, and
// values that break one of its constraints, each with the path the API must name. Only the keywords the
// document uses for requests are understood (type, enum, const, pattern, min/maxLength, min/maxItems,
// minimum/maximum, required, properties, additionalProperties, oneOf, anyOf of `required` lists, allOf of
// patterns, $ref, and the `x-max-json-bytes` extension); a keyword it does not know makes it throw, so a
// change to the document cannot silently leave part of it unchecked.
import * as fc from 'fast-check';
import { formatPath } from '../../shared/validation';
import { isValidAt, pointer, schemaAt } from './openapi';

type Schema = Record<string, unknown>;

/** A value valid but for one constraint, and where the API must say the problem is. */
export interface Violation {
  value: unknown;
  /** Where the broken constraint applies, as the API writes a path (`notices[2].to`); the answer names one of them. */
  paths: string[];
  /** The keyword broken (`pattern`, `maxLength`, `required`…). */
  keyword: string;
}

export interface DeriveOptions {
  /**
   * Rules a schema states only in words (its description), by the schema's pointer: valid values keep
   * to them, as a client reading the document would. A pointer is `#/components/schemas/NoticeInput`.
   */
  described?: Record<string, (value: unknown) => boolean>;
  /** The most items a generated list holds, but for those generated at their maxItems. */
  itemCap?: number;
}

const KNOWN = new Set([
  '$ref', 'type', 'enum', 'const', 'pattern', 'minLength', 'maxLength', 'minItems', 'maxItems', 'minimum', 'maximum', 'required', 'properties',
  'additionalProperties', 'oneOf', 'anyOf', 'allOf', 'items', 'x-max-json-bytes',
  // Annotations: they constrain nothing a request sends (format is an annotation in OpenAPI 3.1, and the
  // patterns beside it say the rest).
  'description', 'examples', 'format', 'contentEncoding', 'title', 'default',
]);

/** Longest string generated where a schema sets no maxLength. */
const FREE_LENGTH = 40;
/** Lists up to this many maxItems are also generated at their limit. */
const AT_LIMIT_ITEMS = 20;

/** Every character, not only ASCII: mostly printable ASCII, then controls, the rest of the BMP, astral planes and a few that trip parsers. */
export const anyCharacter: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
  { weight: 1, arbitrary: fc.constantFrom(0x00, 0x09, 0x0a, 0x0d, 0x1b, 0x7f) },
  { weight: 2, arbitrary: fc.integer({ min: 0xa0, max: 0xd7ff }) },
  { weight: 1, arbitrary: fc.integer({ min: 0xe000, max: 0xfffd }) },
  { weight: 1, arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }) },
  { weight: 1, arbitrary: fc.constantFrom(0x2028, 0x2029, 0xfeff, 0xfffd, 0x200b, 0x22, 0x5c, 0x40, 0x2f, 0x2c, 0x20) },
).map((codePoint) => String.fromCodePoint(codePoint));

/** Characters a pattern is likely to refuse, to break one with. */
const breakingCharacter = fc.oneof(anyCharacter, fc.constantFrom('\r', '\n', '\u0000', '\u007f', ' ', '@', '/', '\\', ',', ':', 'é', '😀', '"', '..', '-', 'T', 'Z', '='));

const codePoints = (value: string): string[] => Array.from(value);
const characterLength = (value: string): number => codePoints(value).length;

/** The JSON Schema type a value has. */
const kindOf = (value: unknown): string => {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
};

/** Patterns (ECMA-262, as JSON Schema reads them) compiled once, with the u flag as ajv uses them. */
const regexes = new Map<string, RegExp>();
const regexOf = (pattern: string): RegExp => {
  let regex = regexes.get(pattern);
  if (!regex) regexes.set(pattern, (regex = new RegExp(pattern, 'u')));
  return regex;
};

/** A pattern that is one character class repeated (`^[…]*$`, `^[…]{1,255}$`): its class and its bounds. */
const repeatedClass = (pattern: string): { characterClass: string; min: number; max?: number } | undefined => {
  const match = /^\^(\[(?:\\.|[^\]\\])+\])(\*|\+|\{(\d+),(\d+)\})\$$/.exec(pattern);
  if (!match) return undefined;
  const [, characterClass, quantifier, low, high] = match as unknown as [string, string, string, string?, string?];
  if (quantifier === '*') return { characterClass, min: 0 };
  if (quantifier === '+') return { characterClass, min: 1 };
  return { characterClass, min: Number(low), max: Number(high) };
};

/** One character of a class: drawn from every character when the class is negated, else from the class itself. */
const characterOf = (characterClass: string): fc.Arbitrary<string> => {
  const single = new RegExp(`^${characterClass}$`, 'u');
  return characterClass.startsWith('[^') ? keeping(anyCharacter, (c) => single.test(c), characterClass) : fc.stringMatching(new RegExp(`^${characterClass}$`));
};

/** Draws in a row a filter may refuse before it gives up: a loop that never ends would hang Jest's worker. */
const MAX_MISSES = 5_000;

/**
 * A filter that fails loudly when it refuses everything: a schema the generator does not really
 * understand (or a document that allows nothing) shows as an error naming it, not as a hung test.
 */
const keeping = <T>(values: fc.Arbitrary<T>, predicate: (value: T) => boolean, what: string): fc.Arbitrary<T> => {
  let misses = 0;
  return values.filter((value) => {
    if (predicate(value)) {
      misses = 0;
      return true;
    }
    if (++misses >= MAX_MISSES) throw new Error(`${what}: ${MAX_MISSES} values in a row drawn and refused; is the schema one test/support/openapi-arbitraries.ts understands?`);
    return false;
  });
};

/** The schema at a pointer, with a $ref followed (its siblings here are descriptions). */
const resolve = (at: string): { at: string; schema: Schema; refs: string[] } => {
  const schema = schemaAt(at);
  for (const keyword of Object.keys(schema)) if (!KNOWN.has(keyword)) throw new Error(`${at}: the keyword ${keyword} is not understood by test/support/openapi-arbitraries.ts`);
  const allOf = (schema.allOf as Schema[] | undefined) ?? [];
  if (!allOf.every((sub) => Object.keys(sub).every((keyword) => keyword === 'pattern'))) throw new Error(`${at}: only an allOf of patterns is understood`);
  if (typeof schema.$ref === 'string') {
    const target = resolve(schema.$ref);
    return { ...target, refs: [at, ...target.refs] };
  }
  return { at, schema, refs: [at] };
};

const typesOf = (schema: Schema): string[] => {
  if (schema.type === undefined) return schema.enum || schema.const !== undefined ? [] : ['string', 'integer', 'boolean', 'null', 'array', 'object'];
  return Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
};

/** The `required` lists of an anyOf made only of them: at least one of the lists must be present. */
const requiredChoices = (schema: Schema): string[][] | undefined => {
  const anyOf = schema.anyOf as Schema[] | undefined;
  if (!anyOf) return undefined;
  if (!anyOf.every((branch) => Object.keys(branch).every((keyword) => keyword === 'required'))) throw new Error('only an anyOf of `required` lists is understood');
  return anyOf.map((branch) => branch.required as string[]);
};

/** A violation found below a node: its paths relative to that node, prefixed as it comes up. */
interface Found {
  value: unknown;
  paths: PropertyKey[][];
  keyword: string;
}

/**
 * Derives arbitraries from the document's schemas.
 * @example
 * const { valid, violating } = fromDocument({ described: { '#/components/schemas/NoticeInput': scheduledWithinAYear } });
 * fc.assert(fc.asyncProperty(valid('#/components/schemas/NoticeInput'), async (notice) => …));
 */
export const fromDocument = (options: DeriveOptions = {}) => {
  const itemCap = options.itemCap ?? 4;
  // Each pointer's arbitrary is derived once: they are immutable, and a batch's notices share one.
  const validMemo = new Map<string, fc.Arbitrary<unknown>>();
  const violationMemo = new Map<string, fc.Arbitrary<Found>>();

  const stringValues = (schema: Schema): fc.Arbitrary<string> => {
    const minLength = (schema.minLength as number | undefined) ?? 0;
    const maxLength = schema.maxLength as number | undefined;
    const pattern = schema.pattern as string | undefined;
    const repeated = pattern === undefined ? { characterClass: '', min: 0, max: undefined } : repeatedClass(pattern);
    if (repeated) {
      const unit = pattern === undefined ? anyCharacter : characterOf(repeated.characterClass);
      const low = Math.max(minLength, repeated.min);
      const high = Math.min(maxLength ?? Infinity, repeated.max ?? Infinity);
      const usual = fc.string({ unit, minLength: low, maxLength: Math.max(low, Math.min(high, FREE_LENGTH)) });
      // At the limit too: where counting characters differently (UTF-16 units, bytes) would show.
      return Number.isFinite(high) && high > FREE_LENGTH ? fc.oneof({ weight: 4, arbitrary: usual }, { weight: 1, arbitrary: fc.string({ unit, minLength: high, maxLength: high }) }) : usual;
    }
    return keeping(fc.stringMatching(new RegExp(pattern as string)), (value) => characterLength(value) >= minLength && (maxLength === undefined || characterLength(value) <= maxLength), pattern as string);
  };

  const validOf = (at: string): fc.Arbitrary<unknown> => {
    let memo = validMemo.get(at);
    if (!memo) validMemo.set(at, (memo = deriveValid(at)));
    return memo;
  };

  const deriveValid = (at: string): fc.Arbitrary<unknown> => {
    const { at: target, schema, refs } = resolve(at);
    let values: fc.Arbitrary<unknown>;
    if (schema.const !== undefined) values = fc.constant(schema.const);
    else if (schema.enum) values = fc.constantFrom(...(schema.enum as unknown[]));
    else if (schema.oneOf) values = fc.oneof(...(schema.oneOf as Schema[]).map((_, i) => validOf(`${target}/oneOf/${i}`)));
    else values = fc.oneof(...typesOf(schema).map((type) => validOfType(target, schema, type)));
    for (const ref of refs) {
      const rule = options.described?.[ref];
      if (rule) values = keeping(values, rule, `${ref}, as described`);
    }
    // Where drawing alone may miss (one branch of oneOf exactly, every pattern of allOf, a format), the
    // document's own validator decides; valid() asks it again of every whole value.
    return schema.oneOf || schema.allOf || schema.format || schema['x-max-json-bytes'] ? keeping(values, (value) => isValidAt(at, value), at) : values;
  };

  const validOfType = (at: string, schema: Schema, type: string): fc.Arbitrary<unknown> => {
    switch (type) {
      case 'string':
        return stringValues(schema);
      case 'integer':
        return fc.integer({ min: (schema.minimum as number | undefined) ?? -(2 ** 31), max: (schema.maximum as number | undefined) ?? 2 ** 31 });
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      case 'array': {
        const item = validOf(`${at}/items`);
        const minItems = (schema.minItems as number | undefined) ?? 0;
        const maxItems = schema.maxItems as number | undefined;
        const usual = fc.array(item, { minLength: minItems, maxLength: Math.max(minItems, Math.min(maxItems ?? itemCap, itemCap)) });
        return maxItems !== undefined && maxItems > itemCap && maxItems <= AT_LIMIT_ITEMS
          ? fc.oneof({ weight: 4, arbitrary: usual }, { weight: 1, arbitrary: fc.array(item, { minLength: maxItems, maxLength: maxItems }) })
          : usual;
      }
      case 'object': {
        const properties = Object.fromEntries(Object.keys((schema.properties as Schema | undefined) ?? {}).map((key) => [key, validOf(`${at}/properties/${pointer(key)}`)]));
        const required = (schema.required as string[] | undefined) ?? [];
        const choices = requiredChoices(schema) ?? [[]];
        return fc.constantFrom(...choices).chain((chosen) => fc.record(properties, { requiredKeys: [...new Set([...required, ...chosen])] }));
      }
      default:
        throw new Error(`${at}: type ${type} is not understood`);
    }
  };

  const found = (value: unknown, keyword: string, paths: PropertyKey[][] = [[]]): Found => ({ value, paths, keyword });
  const under = (key: PropertyKey, broken: Found): Found => ({ ...broken, paths: broken.paths.map((path) => [key, ...path]) });

  /** Names no schema of the document gives a property: an unknown field, whatever object it lands in. */
  const unknownName = fc.constantFrom('priority', 'bcc', 'Subject', 'sender', 'notice_type', 'x');

  const violationsOf = (at: string): fc.Arbitrary<Found> => {
    let memo = violationMemo.get(at);
    if (!memo) violationMemo.set(at, (memo = deriveViolations(at)));
    return memo;
  };

  const deriveViolations = (at: string): fc.Arbitrary<Found> => {
    const { at: target, schema } = resolve(at);
    const candidates: Array<fc.Arbitrary<Found>> = [];
    const types = typesOf(schema);
    const valid = validOf(at);
    const wrongType = fc.constantFrom<unknown>(42, 1.5, true, null, 'text', [], {}).filter((value) => !types.includes(kindOf(value)) && !(kindOf(value) === 'integer' && types.includes('number')));
    if (schema.oneOf) {
      const branches = schema.oneOf as Schema[];
      const requiredOf = (i: number): string[] => (resolve(`${target}/oneOf/${i}`).schema.required as string[] | undefined) ?? [];
      branches.forEach((_, i) => {
        const others = branches.flatMap((__, j) => (j === i ? [] : requiredOf(j))).filter((key) => !requiredOf(i).includes(key));
        candidates.push(
          keeping(violationsOf(`${target}/oneOf/${i}`), ({ value }) => {
            // The branch an object is meant for is told by the required fields it holds, as the API tells a
            // batch (it holds `notices`) from a notice; one that holds neither branch's could be either.
            if (!value || typeof value !== 'object' || Array.isArray(value)) return true;
            const keys = Object.keys(value);
            return keys.some((key) => requiredOf(i).includes(key)) && !keys.some((key) => others.includes(key));
          }, `${target}/oneOf/${i}, broken`),
        );
      });
    } else if (schema.enum || schema.const !== undefined) {
      const allowed = (schema.enum as unknown[] | undefined) ?? [schema.const];
      candidates.push(keeping(fc.oneof(fc.string({ unit: anyCharacter, maxLength: 12 }), valid.map((value) => `${String(value)}x`)), (value) => !allowed.includes(value), `${at}, enum`).map((value) => found(value, 'enum')));
    }
    if (schema.type !== undefined) candidates.push(wrongType.map((value) => found(value, 'type')));
    if (types.length === 1 && types[0] === 'string' && !schema.enum) candidates.push(...stringViolations(schema, valid as fc.Arbitrary<string>));
    if (types.length === 1 && types[0] === 'integer') {
      if (schema.minimum !== undefined) candidates.push(fc.integer({ min: -1000, max: (schema.minimum as number) - 1 }).map((value) => found(value, 'minimum')));
      if (schema.maximum !== undefined) candidates.push(fc.integer({ min: (schema.maximum as number) + 1, max: (schema.maximum as number) + 1000 }).map((value) => found(value, 'maximum')));
    }
    if (types.length === 1 && types[0] === 'array') candidates.push(...arrayViolations(target, schema));
    if (types.length === 1 && types[0] === 'object') candidates.push(...objectViolations(target, schema, valid as fc.Arbitrary<Record<string, unknown>>));
    if (candidates.length === 0) throw new Error(`${at}: no constraint to break`);
    // A value broken in one branch of a oneOf may fit another: there the document's validator decides, as
    // violating() has it decide of every whole value.
    return schema.oneOf ? keeping(fc.oneof(...candidates), ({ value }) => !isValidAt(at, value), `${at}, broken`) : fc.oneof(...candidates);
  };

  const stringViolations = (schema: Schema, valid: fc.Arbitrary<string>): Array<fc.Arbitrary<Found>> => {
    const candidates: Array<fc.Arbitrary<Found>> = [];
    const minLength = (schema.minLength as number | undefined) ?? 0;
    const maxLength = schema.maxLength as number | undefined;
    const patterns = [schema.pattern as string | undefined, ...((schema.allOf as Schema[] | undefined) ?? []).map((sub) => sub.pattern as string)].filter((p): p is string => p !== undefined);
    const withinLength = (value: string) => characterLength(value) >= minLength && (maxLength === undefined || characterLength(value) <= maxLength);
    if (minLength > 0) candidates.push(valid.map((value) => codePoints(value).slice(0, minLength - 1).join('')).map((value) => found(value, 'minLength')));
    if (maxLength !== undefined) {
      // Longer by characters the value already holds, so that only its length is wrong where the pattern allows.
      candidates.push(valid.map((value) => `${codePoints(value)[0] ?? 'x'}`.repeat(maxLength + 1 - characterLength(value)) + value).map((value) => found(value, 'maxLength')));
    }
    if (patterns.length > 0) {
      const mutated = fc.oneof(
        fc.tuple(valid, fc.nat(), breakingCharacter).map(([value, at, c]) => {
          const chars = codePoints(value);
          const i = chars.length === 0 ? 0 : at % (chars.length + 1);
          return [...chars.slice(0, i), c, ...chars.slice(i)].join('');
        }),
        fc.tuple(valid, fc.nat(), breakingCharacter).map(([value, at, c]) => {
          const chars = codePoints(value);
          if (chars.length === 0) return c;
          const i = at % chars.length;
          return [...chars.slice(0, i), c, ...chars.slice(i + 1)].join('');
        }),
        // A part repeated past what the pattern counts (64 characters before an @).
        valid.map((value) => `${codePoints(value)[0] ?? 'x'}`.repeat(65) + value),
        fc.string({ unit: anyCharacter, maxLength: 20 }),
      );
      candidates.push(keeping(mutated, (value) => withinLength(value) && patterns.some((p) => !regexOf(p).test(value)), `${patterns.join(' and ')}, broken`).map((value) => found(value, 'pattern')));
    }
    return candidates;
  };

  const arrayViolations = (at: string, schema: Schema): Array<fc.Arbitrary<Found>> => {
    const candidates: Array<fc.Arbitrary<Found>> = [];
    const item = validOf(`${at}/items`);
    const minItems = (schema.minItems as number | undefined) ?? 0;
    const maxItems = schema.maxItems as number | undefined;
    if (minItems > 0) candidates.push(fc.array(item, { maxLength: minItems - 1 }).map((value) => found(value, 'minItems')));
    // One item over, the same one repeated: 501 notices drawn one by one would cost seconds a case.
    if (maxItems !== undefined) candidates.push(item.map((one) => found(Array.from({ length: maxItems + 1 }, () => one), 'maxItems')));
    const upTo = Math.max(1, minItems, Math.min(maxItems ?? itemCap, itemCap));
    candidates.push(
      fc.tuple(fc.array(item, { minLength: Math.max(1, minItems), maxLength: upTo }), fc.nat(), violationsOf(`${at}/items`)).map(([items, position, broken]) => {
        const index = position % items.length;
        return { ...under(index, broken), value: items.map((one, i) => (i === index ? broken.value : one)) };
      }),
    );
    return candidates;
  };

  const objectViolations = (at: string, schema: Schema, valid: fc.Arbitrary<Record<string, unknown>>): Array<fc.Arbitrary<Found>> => {
    const candidates: Array<fc.Arbitrary<Found>> = [];
    const properties = Object.keys((schema.properties as Schema | undefined) ?? {});
    for (const key of (schema.required as string[] | undefined) ?? []) {
      candidates.push(valid.map(({ [key]: _removed, ...rest }) => found(rest, 'required', [[key]])));
    }
    const choices = requiredChoices(schema);
    if (choices) {
      const keys = [...new Set(choices.flat())];
      candidates.push(valid.map((value) => found(Object.fromEntries(Object.entries(value).filter(([key]) => !keys.includes(key))), 'anyOf', keys.map((key) => [key]))));
    }
    if (schema.additionalProperties === false) {
      candidates.push(fc.tuple(valid, unknownName, fc.jsonValue({ maxDepth: 1 })).map(([value, name, extra]) => found({ ...value, [name]: extra }, 'additionalProperties', [[name]])));
    }
    for (const key of properties) {
      candidates.push(
        fc.tuple(valid, violationsOf(`${at}/properties/${pointer(key)}`)).map(([value, broken]) => ({ ...under(key, broken), value: { ...value, [key]: broken.value } })),
      );
    }
    const maxBytes = schema['x-max-json-bytes'] as number | undefined;
    const free = properties.filter((key) => {
      const property = resolve(`${at}/properties/${pointer(key)}`).schema;
      return property.type === 'string' && property.maxLength === undefined && property.pattern === undefined;
    });
    if (maxBytes !== undefined && free.length > 0) {
      // Over the size by the one field that has no length of its own (a notice's text).
      candidates.push(fc.tuple(valid, fc.constantFrom(...free)).map(([value, key]) => found({ ...value, [key]: 'x'.repeat(maxBytes) }, 'x-max-json-bytes')));
    }
    return candidates;
  };

  return {
    /** Values the schema at a pointer allows (and the rules described for it), each confirmed by the document's validator (x-max-json-bytes included, as test/support/openapi.ts teaches it). */
    valid: (at: string): fc.Arbitrary<unknown> => keeping(validOf(at), (value) => isValidAt(at, value), at),
    /** Values that break one constraint of the schema at a pointer, with the path the API must name (below `prefix`). */
    violating: (at: string, prefix: PropertyKey[] = []): fc.Arbitrary<Violation> =>
      keeping(violationsOf(at), ({ value }) => !isValidAt(at, value), `${at}, broken`).map(({ value, paths, keyword }) => ({ value, keyword, paths: paths.map((path) => formatPath([...prefix, ...path])) })),
  };
};
