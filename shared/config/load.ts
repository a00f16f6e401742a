// Reads, expands and validates a configuration file; a bad file is refused with every problem by JSON path.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, type ErrorDetail } from '../errors';
import { jsonMistake } from '../json-mistake';
import { formatPath, issuesToDetails } from '../validation';
import { type Config, configSchema } from './schema';

const PLACEHOLDER = /\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}/g;
const WHOLE_PLACEHOLDER = /^\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}$/;

/**
 * Replaces `${NAME}` and `${NAME:-default}` in string values with variables from `vars`.
 * A value that is exactly one placeholder becomes a number when the variable holds one, so
 * `"port": "${SMTP_PORT}"` works. Unset variables without a default are reported by path.
 */
export const expandVariables = (value: unknown, vars: Readonly<Record<string, string | undefined>>, path: PropertyKey[] = [], missing: ErrorDetail[] = []): unknown => {
  if (typeof value === 'string') {
    const lookup = (name: string, fallback: string | undefined): string => {
      const found = vars[name] ?? fallback;
      if (found === undefined) missing.push({ path: formatPath(path), message: `uses \${${name}}, which is not set` });
      return found ?? '';
    };
    const whole = WHOLE_PLACEHOLDER.exec(value);
    if (whole) {
      const expanded = lookup(whole[1] as string, whole[2]);
      return /^-?\d+(\.\d+)?$/.test(expanded) ? Number(expanded) : expanded;
    }
    return value.replace(PLACEHOLDER, (_match, name: string, fallback: string | undefined) => lookup(name, fallback));
  }
  if (Array.isArray(value)) return value.map((item, index) => expandVariables(item, vars, [...path, index], missing));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, expandVariables(item, vars, [...path, key], missing)]));
  }
  return value;
};

/** Validates an already parsed configuration object. */
export const parseConfig = (raw: unknown, vars: Readonly<Record<string, string | undefined>> = {}, source = 'configuration'): Config => {
  const missing: ErrorDetail[] = [];
  const expanded = expandVariables(raw, vars, [], missing);
  const result = configSchema.safeParse(expanded, { reportInput: true });
  // A value left empty by an unset variable is reported once, as that, not again as the wrong type.
  const unset = new Set(missing.map((detail) => detail.path));
  const details = [...missing, ...(result.success ? [] : issuesToDetails(result.error.issues).filter((detail) => !unset.has(detail.path)))];
  if (details.length > 0 || !result.success) {
    throw new ConfigError(`${source} is not valid (${details.length} problem${details.length === 1 ? '' : 's'})`, details);
  }
  return result.data;
};

/**
 * Loads the configuration file at `path`.
 * @example
 * const config = loadConfig('config/local.json', process.env);
 */
export const loadConfig = (path: string, vars: Readonly<Record<string, string | undefined>> = {}): Config => parseConfig(readConfigJson(path), vars, path);

/** Why a file cannot be read, in words, for the errors a mistyped or unreadable path gives. */
const UNREADABLE: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'it is a directory', ENOTDIR: 'a part of the path is not a directory' };

/**
 * The configuration file's JSON, before validation, or a ConfigError: the file cannot be read, or where
 * it stops being JSON, by line and column. Never the parser's own words whole, nor the error as a cause:
 * they quote the text around the mistake, and a configuration may hold a password there.
 */
export const readConfigJson = (path: string): unknown => {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const where = resolve(path) === path ? path : `${path} (${resolve(path)})`;
    throw new ConfigError(`cannot read ${where}: ${UNREADABLE[code ?? ''] ?? code ?? 'unknown error'}`, [], { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${path} is not valid JSON`, [{ path: '(root)', message: jsonMistake(text, error as Error) }]);
  }
};

/** The lines a person reads when a file is refused. */
export const describeConfigError = (error: ConfigError): string =>
  [error.message + (error.details.length ? ':' : ''), ...error.details.map((d) => `  ${d.path}: ${d.message}`)].join('\n');
