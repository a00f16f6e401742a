import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readConfigJson, parseConfig } from '../../../shared/config/load';
import { configSchema, type ConfigInput } from '../../../shared/config/schema';
import { parseSecret } from '../../../shared/secrets-manager';
import { secretTemplate } from '../../../shared/secrets';
import { runCommand } from '../../support/cli';
import { documentationPages, fencedBlocks, inlineCode, page, prose, ROOT } from '../../support/markdown';

const pages = documentationPages();
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
const localConfig = readConfigJson(join(ROOT, 'config', 'local.json')) as ConfigInput;
const exampleConfig = parseConfig(readConfigJson(join(ROOT, 'config', 'example.json')));

/** What each kind of JSON block is, by its info string; any other info string is refused, so none goes unchecked by a typo. */
const JSON_KINDS = new Set(['config', 'transport', 'secret']);

/** A `"transport": {…}` example as the `transport` of the committed demo institution, the rest of config/local.json kept. */
const withTransport = (fragment: string): ConfigInput => {
  const { transport } = JSON.parse(`{${fragment}}`) as { transport: unknown };
  const input = structuredClone(localConfig);
  input.institutions[0] = { ...input.institutions[0]!, transport: transport as ConfigInput['institutions'][number]['transport'] };
  return input;
};

/** A secret with every value emptied, and absent fields left out: the shape secret-template prints. */
const shapeOf = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(shapeOf)
    : value && typeof value === 'object'
      ? Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([key, v]) => [key, shapeOf(v)]))
      : value === null
        ? null
        : '';

/** Each JSON block with the page it is on and the blocks before it there. */
const jsonBlocks = pages.flatMap(({ path, text }) => {
  const blocks = fencedBlocks(text);
  return blocks.map((block, index) => ({ path, block, before: blocks.slice(0, index), text })).filter(({ block }) => block.info[0] === 'json');
});

describe('JSON examples of the README and docs/', () => {
  it('has configuration, transport and secret examples to check', () => {
    const kinds = jsonBlocks.map(({ block }) => block.info[1]);
    expect(kinds).toEqual(expect.arrayContaining(['config', 'transport', 'secret']));
  });

  it.each(jsonBlocks.map(({ path, block, before, text }) => [`${path}:${block.line}`, block.info.join(' '), { path, block, before, text }] as const))(
    '%s (```%s) parses and is what it says it is',
    (_, __, { block, before, text }) => {
      const kind = block.info[1];
      if (kind !== undefined) expect(JSON_KINDS).toContain(kind);
      switch (kind) {
        case 'config':
          // A whole configuration file passes the schema npm start and the stack both load it with.
          expect(() => parseConfig(JSON.parse(block.body))).not.toThrow();
          break;
        case 'transport':
          expect(() => parseConfig(withTransport(block.body))).not.toThrow();
          break;
        case 'secret': {
          const secret = JSON.parse(block.body) as unknown;
          // Every field the example fills is one the sender reads: none is dropped by the parser.
          expect(shapeOf(parseSecret(block.body))).toMatchObject(shapeOf(secret) as object);
          // And it has the shape secret-template prints for the transport it follows, or for the
          // institution the page's secret-template command names (in config/example.json).
          const transport = [...before].reverse().find((earlier) => earlier.info[1] === 'transport');
          const institutionId = /secret-template .*--institution (\S+)/.exec(text)?.[1];
          const institution = transport
            ? parseConfig(withTransport(transport.body)).institutions[0]!
            : exampleConfig.institutions.find((each) => each.id === institutionId);
          expect(institution).toBeDefined();
          expect(shapeOf(secret)).toEqual(shapeOf(secretTemplate(institution!)));
          break;
        }
        default:
          expect(() => JSON.parse(block.body)).not.toThrow();
      }
    },
  );
});

describe('Configuration keys documented', () => {
  it("shows in the configuration page's whole file every timing at its default, as it says", () => {
    // Prepare
    const block = fencedBlocks(page('docs/it/configuration.md').text).find((each) => each.info.join(' ') === 'json config');
    const shown = JSON.parse(block?.body ?? '{}') as ConfigInput;
    // Act
    const { institutions: _, smtpSubmission: __, ...timings } = parseConfig(shown);
    const { institutions: ___, smtpSubmission: ____, ...defaults } = parseConfig({ institutions: shown.institutions });
    // Assess
    expect(Object.keys(shown).filter((key) => !['institutions', 'smtpSubmission'].includes(key)).sort()).toEqual(Object.keys(defaults).sort());
    expect(timings).toEqual(defaults);
  });

  /** Every key the schema takes, as `section.key` paths: `sender.leaseSeconds`, `institutions.transport.servers.auth.clientId`. */
  const keyPaths = (): string[] => {
    const paths: string[] = [];
    const walk = (schema: unknown, prefix: string) => {
      let node = schema as { def?: { type: string; innerType?: unknown; element?: unknown; options?: unknown[]; in?: unknown; shape?: Record<string, unknown> }; shape?: Record<string, unknown> };
      // Through defaults, optionals, prefaults, pipes and arrays, to the objects and unions under them.
      for (let guard = 0; guard < 10 && node.def; guard++) {
        const { def } = node;
        if (def.type === 'object') {
          for (const [key, child] of Object.entries(node.shape ?? def.shape ?? {})) {
            paths.push(prefix ? `${prefix}.${key}` : key);
            walk(child, prefix ? `${prefix}.${key}` : key);
          }
          return;
        }
        if (def.type === 'union') {
          for (const option of def.options ?? []) walk(option, prefix);
          return;
        }
        const inner = def.innerType ?? def.element ?? def.in;
        if (!inner) return;
        node = inner as typeof node;
      }
    };
    walk(configSchema, '');
    return [...new Set(paths)];
  };

  it('names every key of the configuration schema on the pages that describe the file', () => {
    // Prepare
    const described = ['docs/it/configuration.md', 'docs/it/mail-systems.md'].flatMap((path) => [...inlineCode(page(path).text), ...fencedBlocks(page(path).text).map((block) => block.body)]).join('\n');
    const paths = keyPaths();
    // Act
    const missing = paths.filter((path) => !new RegExp(`(^|[^A-Za-z])${path.split('.').pop()}([^A-Za-z]|$)`, 'm').test(described));
    // Assess
    expect(paths).toEqual(expect.arrayContaining(['institutions.transport.servers.auth.clientId', 'sender.leaseSeconds', 'smtpSubmission.loginFrom']));
    expect(missing).toEqual([]);
  });
});

describe('Commands named in the README and docs/', () => {
  /** Everything a reader would type: fenced shell lines and inline code. */
  const typed = pages.flatMap(({ path, text }) =>
    [...fencedBlocks(text).filter((block) => ['sh', 'bash', ''].includes(block.info[0] ?? '')).map((block) => block.body), ...inlineCode(text)].map((snippet) => ({ path, snippet })),
  );

  it('names only npm scripts package.json has', () => {
    // Act
    const named = typed.flatMap(({ path, snippet }) => [...snippet.matchAll(/\bnpm run ([\w:-]+)/g)].map((match) => ({ path, script: match[1] as string })));
    // Assess
    expect(named.length).toBeGreaterThan(3);
    expect(named.filter(({ script }) => !(script in packageJson.scripts))).toEqual([]);
  });

  it('names only notice-relay commands, and options of theirs, the command line has', async () => {
    // Prepare
    const usage = (await runCommand(['help'])).out;
    const commands = new Set([...usage.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((match) => match[1] as string));
    const helpOf = async (command: string) => (await runCommand([command, '--help'])).out;
    // Act
    const named = typed.flatMap(({ path, snippet }) =>
      [...snippet.matchAll(/\bnotice-relay ([a-z][\w-]*)((?: +(?:--?[\w-]+|[^\s|;&]+))*)/g)].map((match) => ({ path, command: match[1] as string, options: [...(match[2] ?? '').matchAll(/--[\w-]+/g)].map((option) => option[0]) })),
    );
    const unknown: string[] = [];
    for (const { path, command, options } of named) {
      if (!commands.has(command)) unknown.push(`${path}: notice-relay ${command}`);
      else {
        const help = await helpOf(command);
        for (const option of options) if (option !== '--help' && !help.includes(option)) unknown.push(`${path}: notice-relay ${command} ${option}`);
      }
    }
    // Assess
    expect(named.length).toBeGreaterThan(5);
    expect(unknown).toEqual([]);
  });

  it("lists in the configuration page's command table exactly the commands the command line has", async () => {
    // Prepare
    const usage = (await runCommand(['help'])).out;
    const commands = [...usage.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((match) => match[1] as string).filter((command) => command !== 'help');
    const lines = prose(page('docs/it/configuration.md').text);
    // Act
    const table = lines.slice(lines.indexOf('## Command line')).filter((line) => line.startsWith('| `')).map((line) => /^\| `([\w-]+)/.exec(line)?.[1]);
    // Assess
    expect(table.sort()).toEqual(commands.sort());
  });

  it('shows what dns-records prints for the committed example configuration, as it prints it', async () => {
    // Prepare
    const blocks = fencedBlocks(page('docs/it/dns.md').text);
    const command = blocks.findIndex((block) => block.body.trim() === 'npx notice-relay dns-records --config config/example.json');
    const shown = blocks[command + 1];
    const region = process.env.AWS_REGION;
    delete process.env.AWS_REGION;
    try {
      // Act
      const printed = await runCommand(['dns-records', '--config', join(ROOT, 'config', 'example.json')]);
      // Assess
      expect(command).toBeGreaterThanOrEqual(0);
      expect(shown?.info[0]).toBe('text');
      expect(printed.code).toBe(0);
      expect(shown?.body.trim()).toBe(printed.out.trim());
    } finally {
      if (region !== undefined) process.env.AWS_REGION = region;
    }
  });
});

describe('Figures of docs/contributing/benchmarks.md', () => {
  interface Figure {
    ours: number;
    baseline: number;
    ratio: number;
    unit: string;
    met: boolean;
  }
  const results = JSON.parse(readFileSync(join(ROOT, 'bench', 'results.json'), 'utf8')) as { figures: Record<string, Figure> };

  /** A number as written (`2.58`, `$0.0078`, `52.9/s`, `446`), with the step its last digit stands for. */
  const numbersIn = (cell: string) => [...cell.replace(/,(?=\d{3}\b)/g, '').matchAll(/\d+(?:\.(\d+))?/g)].map((match) => ({ value: Number(match[0]), step: 10 ** -(match[1]?.length ?? 0) }));
  /** The values a written number may stand for: the figure's own, its ratio, its baseline, bytes as KiB. */
  const candidates = (figure: Figure) => [figure.ours, figure.baseline, figure.ratio, ...(figure.unit === 'bytes' ? [figure.ours / 1024] : [])];
  const matches = (written: { value: number; step: number }, figure: Figure) => candidates(figure).some((value) => Math.abs(value - written.value) <= written.step);

  it('reports each figure of bench/results.json as the latest run measured it, met or missed, unless a footnote says otherwise', () => {
    // Prepare
    const lines = prose(page('docs/contributing/benchmarks.md').text);
    const rows = lines.filter((line) => /^\| `\w+`/.test(line));
    const footnotes = new Set(lines.map((line) => /^([¹²³⁴⁵⁶⁷⁸⁹]) \S/.exec(line)?.[1]).filter(Boolean));
    const wrong: string[] = [];
    // Act
    for (const row of rows) {
      const [first, ours, , , verdict] = row.split('|').slice(1).map((cell) => cell.trim()) as [string, string, string, string, string];
      // A figure from another run than the file's says so in a footnote, which the page must have.
      const mark = /[¹²³⁴⁵⁶⁷⁸⁹]/.exec(ours)?.[0];
      if (mark) {
        if (!footnotes.has(mark)) wrong.push(`${first}: footnote ${mark} missing`);
        continue;
      }
      const name = /^`(\w+)`/.exec(first)?.[1] as string;
      // A figure per function (`bundleBytes.intake`…) is written once per function, in the order the first cell lists them.
      const functions = /\(([a-z, ]+)\)\s*$/.exec(first)?.[1]?.split(/,\s*/);
      const figures = functions ? functions.map((fn) => results.figures[`${name}.${fn}`]) : [results.figures[name]];
      if (figures.some((figure) => figure === undefined)) {
        wrong.push(`${name}: not in bench/results.json`);
        continue;
      }
      const written = numbersIn(ours);
      if (functions) {
        written.forEach((number, index) => figures[index] && !matches(number, figures[index]) && wrong.push(`${name}.${functions[index]}: ${number.value}`));
      } else {
        for (const number of written) if (!matches(number, figures[0]!)) wrong.push(`${name}: ${number.value}`);
      }
      if (figures.every((figure) => figure!.met) !== (verdict === 'met')) wrong.push(`${name}: "${verdict}"`);
    }
    // Assess
    expect(rows.length).toBeGreaterThanOrEqual(7);
    expect(wrong).toEqual([]);
  });
});
