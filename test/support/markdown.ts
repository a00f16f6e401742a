// The README and the pages under docs/, read as GitHub reads them, for the tests that keep them in step
// with the code: their fenced blocks, headings (with GitHub's anchors) and relative links.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

export interface Page {
  /** Relative to the repository's root, with forward slashes: `docs/it/dns.md`. */
  path: string;
  text: string;
}

export interface FencedBlock {
  /** The info string's words: ```json config → ['json', 'config']. */
  info: string[];
  body: string;
  /** 1-based line of the opening fence. */
  line: number;
}

export interface Link {
  target: string;
  line: number;
}

/** README.md and every Markdown page under docs/. */
export const documentationPages = (): Page[] => {
  const found: string[] = ['README.md'];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.md')) found.push(relative(ROOT, path).split('\\').join('/'));
    }
  };
  walk(join(ROOT, 'docs'));
  return found.map((path) => ({ path, text: readFileSync(join(ROOT, path), 'utf8') }));
};

export const page = (path: string): Page => ({ path, text: readFileSync(join(ROOT, path), 'utf8') });

/** The fenced code blocks, in order; an indented fence (inside a list item) counts too. */
export const fencedBlocks = (text: string): FencedBlock[] => {
  const blocks: FencedBlock[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})(.*)$/.exec(lines[i] as string);
    if (!open) continue;
    const [, indent, fence, info] = open as unknown as [string, string, string, string];
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !new RegExp(`^\\s*${fence}\\s*$`).test(lines[j] as string); j++) body.push((lines[j] as string).slice(indent.length));
    blocks.push({ info: info.trim().split(/\s+/).filter(Boolean), body: body.join('\n'), line: i + 1 });
    i = j;
  }
  return blocks;
};

/** The text outside fenced blocks, line for line (a fenced line becomes empty), so line numbers hold. */
export const prose = (text: string): string[] => {
  let fence: string | undefined;
  return text.split('\n').map((line) => {
    const marker = /^\s*(`{3,})/.exec(line)?.[1];
    if (fence) {
      if (marker && new RegExp(`^\\s*${fence}\\s*$`).test(line)) fence = undefined;
      return '';
    }
    if (marker) {
      fence = marker;
      return '';
    }
    return line;
  });
};

/**
 * GitHub's anchor for a heading: the text as shown (no Markdown), lower-cased, every character that is
 * not a letter, a digit, a space, a hyphen or an underscore removed, and spaces made hyphens.
 */
export const slugOf = (heading: string): string =>
  heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*]/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

/** Every anchor a page has: its headings' slugs, a repeated one numbered as GitHub numbers it (-1, -2…). */
export const anchorsOf = (text: string): Set<string> => {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of prose(text)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = slugOf(heading);
    const count = seen.get(slug) ?? 0;
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
    seen.set(slug, count + 1);
  }
  return anchors;
};

/** The links of a page's prose ([text](target)), those to other sites left out. */
export const relativeLinks = (text: string): Link[] =>
  prose(text).flatMap((line, index) =>
    // Inline code is not a link, even when it looks like one.
    [...line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)]
      .map((match) => match[1] as string)
      .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target))
      .map((target) => ({ target, line: index + 1 })),
  );

/** The inline code spans of a page's prose: `npm run bench`, `dns-check --config F`… */
export const inlineCode = (text: string): string[] => prose(text).flatMap((line) => [...line.matchAll(/`([^`]+)`/g)].map((match) => match[1] as string));
