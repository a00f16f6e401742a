// The one description of a JSON syntax error, for the configuration file and the API's request bodies.

/** Characters V8 quotes on each side of an unexpected token ("Unexpected token 'x', ..."…"... is not valid JSON"). */
const V8_CONTEXT = 10;

/** Where in `text` V8's quoted excerpt puts the unexpected token: it stands V8_CONTEXT characters in, unless cut off at the start. */
const offsetOfQuotedToken = (text: string, excerpt: string, cutBefore: boolean, cutAfter: boolean, token: string): number | undefined => {
  if (cutBefore && !cutAfter) return text.length - excerpt.length + V8_CONTEXT;
  if (!cutBefore && cutAfter) return excerpt.length - V8_CONTEXT;
  if (cutBefore && cutAfter) {
    const at = text.indexOf(excerpt);
    return at < 0 ? undefined : at + V8_CONTEXT;
  }
  // A short text is quoted whole: the first such character is the best guess.
  const at = text.indexOf(token);
  return at < 0 ? undefined : at;
};

/**
 * What is wrong with a text JSON.parse refused, and where (line and column), without quoting the text:
 * V8's own messages quote it, and it may hold a password (a configuration) or patron data (a request).
 */
export const jsonMistake = (text: string, error: Error): string => {
  const message = error.message;
  let offset: number | undefined;
  const position = /at position (\d+)/.exec(message);
  // [\s\S], not `.`: the token may be a line or paragraph separator (U+2028, U+2029), which `.` skips.
  const quoting = /^Unexpected token '([\s\S]+?)', (\.\.\.)?"([\s\S]*?)"(\.\.\.)? is not valid JSON$/.exec(message);
  if (position) offset = Number(position[1]);
  else if (quoting) {
    const [, token = '', cutBefore, excerpt = '', cutAfter] = quoting;
    offset = offsetOfQuotedToken(text, excerpt, Boolean(cutBefore), Boolean(cutAfter), token);
  } else if (/end of JSON input/.test(message)) offset = text.length;
  // V8's words only where they are known to quote nothing; any other message may quote the text.
  let reason = 'not valid JSON';
  if (quoting) reason = 'unexpected character';
  else if (offset !== undefined) reason = message.replace(/ (?:in JSON )?at position \d+[\s\S]*$/, '').replace(/^./, (first) => first.toLowerCase());
  if (offset === undefined) return reason;
  const before = text.slice(0, offset).split('\n');
  return `${reason} at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
};
