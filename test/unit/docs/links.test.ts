import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { anchorsOf, documentationPages, page, relativeLinks, ROOT, slugOf } from '../../support/markdown';

const pages = documentationPages();

describe('Function: slugOf (GitHub heading anchors)', () => {
  it.each([
    ['The Test Server, and credentials that break', 'the-test-server-and-credentials-that-break'],
    ['`npm start` will not start', 'npm-start-will-not-start'],
    ["The staff console's pages", 'the-staff-consoles-pages'],
    ['6. The SMTP door (optional)', '6-the-smtp-door-optional'],
    ['Google Workspace', 'google-workspace'],
    ['Return-to-sender reports', 'return-to-sender-reports'],
  ])('makes "%s" #%s', (heading, slug) => {
    expect(slugOf(heading)).toBe(slug);
  });
});

describe('Links of the README and docs/', () => {
  it('finds the pages', () => {
    expect(pages.map((each) => each.path)).toEqual(expect.arrayContaining(['README.md', 'docs/README.md', 'docs/integrator/api.md', 'docs/it/troubleshooting.md']));
  });

  it.each(pages.map((each) => [each.path, each] as const))('resolves every relative link of %s, file and #anchor', (_, { path, text }) => {
    // Prepare
    const broken: string[] = [];
    // Act
    for (const { target, line } of relativeLinks(text)) {
      const [file, anchor] = target.split('#') as [string, string | undefined];
      const resolved = file === '' ? path : normalize(join(dirname(path), decodeURIComponent(file))).split('\\').join('/');
      const absolute = join(ROOT, resolved);
      if (!existsSync(absolute)) {
        broken.push(`${path}:${line} → ${target}: no such file`);
        continue;
      }
      if (anchor === undefined) continue;
      if (!resolved.endsWith('.md') || statSync(absolute).isDirectory()) {
        broken.push(`${path}:${line} → ${target}: an anchor into a file that is not a Markdown page`);
      } else if (!anchorsOf(page(resolved).text).has(anchor)) {
        broken.push(`${path}:${line} → ${target}: ${resolved} has no heading #${anchor}`);
      }
    }
    // Assess
    expect(broken).toEqual([]);
  });

  it('reaches every page under docs/ from the README and from the docs index', () => {
    // Prepare
    const linkedFrom = (from: string) =>
      new Set(relativeLinks(page(from).text).map(({ target }) => normalize(join(dirname(from), target.split('#')[0] as string)).split('\\').join('/')));
    const fromReadme = linkedFrom('README.md');
    const fromIndex = linkedFrom('docs/README.md');
    // Act
    const docs = pages.map((each) => each.path).filter((path) => path.startsWith('docs/') && path !== 'docs/README.md');
    // Assess
    expect(docs.filter((path) => !fromReadme.has(path))).toEqual([]);
    expect(docs.filter((path) => !fromIndex.has(path))).toEqual([]);
  });
});

describe('Pages the code names', () => {
  /** The files under `dirs` whose names match. */
  const filesUnder = (dirs: string[], names: RegExp): string[] => {
    const found: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(join(ROOT, dir))) {
        const path = `${dir}/${name}`;
        if (statSync(join(ROOT, path)).isDirectory()) walk(path);
        else if (names.test(name)) found.push(path);
      }
    };
    dirs.forEach(walk);
    return found;
  };

  it('names in comments only pages that exist', () => {
    // Prepare
    const sources = filesUnder(['infra', 'lambdas', 'shared', 'test'], /\.(ts|cjs)$/);
    // Act
    const named = sources.flatMap((path) => [...readFileSync(join(ROOT, path), 'utf8').matchAll(/\bdocs\/[\w/-]+\.md\b/g)].map((match) => ({ path, page: match[0] })));
    // Assess
    expect(named.length).toBeGreaterThan(20);
    expect(named.filter(({ page: named }) => !existsSync(join(ROOT, named)))).toEqual([]);
  });

  it('points only at sections that exist: a page and a section in parentheses name a heading of the page, or words on it', () => {
    // Prepare
    const sources = filesUnder(['infra', 'lambdas', 'shared', 'test'], /\.(ts|cjs|json)$/);
    // Act: the section is what comes before a colon ("Errors: 429 …"), in quotes or not
    const pointers = sources.flatMap((path) =>
      [...readFileSync(join(ROOT, path), 'utf8').matchAll(/\((?:see )?(docs\/[\w/-]+\.md|README(?:\.md)?)[,:] ([^)]+)\)/g)].map((match) => ({
        path,
        page: match[1] === 'README' ? 'README.md' : (match[1] as string),
        section: (match[2] as string).split(':')[0]!.trim(),
      })),
    );
    const unresolved = pointers.filter(({ page: named, section }) => {
      if (/^docs\/[\w/-]+\.md$/.test(section)) return !existsSync(join(ROOT, section));
      if (!existsSync(join(ROOT, named))) return true;
      const { text } = page(named);
      return !anchorsOf(text).has(slugOf(section.replace(/^["'`]|["'`]$/g, ''))) && !text.includes(section);
    });
    // Assess
    expect(pointers.length).toBeGreaterThan(15);
    expect(unresolved).toEqual([]);
  });

  it('never points into the README from the code: the README is short, and its sections live under docs/', () => {
    // Act
    const mentions = filesUnder(['infra', 'lambdas', 'shared'], /\.(ts|cjs|json)$/).flatMap((path) =>
      readFileSync(join(ROOT, path), 'utf8')
        .split('\n')
        .flatMap((line, index) => (/\bREADME\b(?!\.md)/.test(line) ? [`${path}:${index + 1}: ${line.trim()}`] : [])),
    );
    // Assess
    expect(mentions).toEqual([]);
  });
});
