// HTML for the console, escaped in one place: every value put into an `html` template is escaped unless
// it is itself the output of `html`, so no page can forget to escape a subject, an address or a server's
// reply. Values go only into text and quoted attributes; URLs are built from the console's own paths.
import { escapeHtml } from '../../../shared/html-escape';

export class SafeHtml {
  public constructor(public readonly text: string) {}

  public toString(): string {
    return this.text;
  }
}

type Value = SafeHtml | string | number | boolean | null | undefined | readonly Value[];

const render = (value: Value): string => {
  if (value === null || value === undefined || value === false || value === true) return '';
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
};

/**
 * A template of HTML whose values are escaped.
 * @example
 * html`<td>${notice.subject}</td>` // a subject "<b>" shows as text, never as markup
 */
export const html = (strings: TemplateStringsArray, ...values: Value[]): SafeHtml =>
  new SafeHtml(strings.reduce((out, text, index) => out + text + (index < values.length ? render(values[index] as Value) : ''), ''));

/** An attribute present or not, e.g. `${attribute('selected', chosen)}`. */
export const attribute = (name: string, on: boolean): SafeHtml => new SafeHtml(on ? ` ${name}` : '');
