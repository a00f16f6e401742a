// CSV for spreadsheets (RFC 4180), one way for every file Notice Relay makes (the console's Needs attention
// export, the daily digest's attachment), safe to open: a cell that a spreadsheet would run as a formula
// (starting with =, +, -, @, a tab or a carriage return: OWASP, "CSV Injection") is prefixed with an
// apostrophe, so a subject or an address an ILS passed through cannot run anything on a clerk's machine.
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One cell: neutralised, then quoted (always: RFC 4180 allows it, and a field with a comma, quote, line break
 * or edge space needs it anyway).
 * @example
 * csvCell('=SUM(A1:A9)') // "\"'=SUM(A1:A9)\""
 */
export const csvCell = (value: string | number | null | undefined): string => {
  const text = value === null || value === undefined ? '' : String(value);
  const safe = FORMULA_START.test(text) ? `'${text}` : text;
  return `"${safe.replace(/"/g, '""')}"`;
};

/**
 * Rows as CSV with CRLF line ends (RFC 4180), a byte order mark first so that Excel reads it as UTF-8.
 * @example
 * toCsv(['id', 'status'], [['01JB…', 'failed']]) // '\uFEFF"id","status"\r\n"01JB…","failed"\r\n'
 */
export const toCsv = (header: string[], rows: Array<Array<string | number | null | undefined>>): string =>
  `\uFEFF${[header, ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n')}\r\n`;
