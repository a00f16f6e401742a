import { join } from 'node:path';
import { findCycles, type ImportGraph, importsOf, KNOWN_EXCEPTIONS, layeringViolations, readImportGraph } from '../../support/import-graph';

const ROOT = join(__dirname, '..', '..', '..');

/** A graph from `from -> to` lines; `type` marks a type-only import, names follow a colon. */
const graphOf = (...lines: string[]): ImportGraph => {
  const graph: ImportGraph = new Map();
  for (const line of lines) {
    const [arrow, names = ''] = line.split(':');
    const [from, to] = (arrow as string).split(' -> ').map((part) => part.trim().replace(/^type /, '')) as [string, string];
    const edges = graph.get(from) ?? [];
    edges.push({ from, to, typeOnly: (arrow as string).includes('-> type '), names: names.trim() ? names.trim().split(/\s*,\s*/) : ['*'] });
    graph.set(from, edges);
    if (!graph.has(to)) graph.set(to, []);
  }
  return graph;
};

describe('Layout: the import graph of lambdas/, shared/ and infra/', () => {
  const graph = readImportGraph(ROOT);

  it('reads every module and its imports', () => {
    expect(graph.get('lambdas/sender/handler.ts')?.map((edge) => edge.to)).toEqual(expect.arrayContaining(['shared/deps.ts', 'lambdas/sender/sender-handler.ts']));
    expect(graph.get('shared/transport/transport.ts')?.find((edge) => edge.to === 'shared/mime/compose.ts')).toMatchObject({ typeOnly: true });
    expect(graph.get('lambdas/intake/intake-handler.ts')?.map((edge) => edge.to)).toContain('lambdas/intake/openapi.json');
  });

  it('has no cycle, counting imports of types too', () => {
    expect(findCycles(graph)).toEqual([]);
  });

  it('never imports upward, and no adapter borrows another module’s logic, beyond the exceptions named', () => {
    expect(layeringViolations(graph)).toEqual([]);
  });

  it('names only exceptions that are still needed', () => {
    // Without its exception, each import named would break a rule; once it does not, the entry goes.
    const flagged = layeringViolations(graph, []);
    const stale = KNOWN_EXCEPTIONS.filter((exception) => !flagged.some((violation) => violation.startsWith(`${exception.from} imports`) && violation.includes(exception.to)));
    expect(stale).toEqual([]);
  });
});

describe('Layout: the rules themselves', () => {
  it('finds a cycle made of type imports alone, and one a module makes with itself', () => {
    // Act
    const cycles = findCycles(graphOf('shared/a.ts -> type shared/b.ts', 'shared/b.ts -> shared/c.ts', 'shared/c.ts -> type shared/a.ts', 'shared/d.ts -> shared/d.ts', 'shared/e.ts -> shared/a.ts'));
    // Assess
    expect(cycles).toEqual([['shared/a.ts', 'shared/b.ts', 'shared/c.ts'], ['shared/d.ts']]);
  });

  it('refuses shared/ importing lambdas/ or infra/, and lambdas/ importing infra/, even for a type', () => {
    // Act
    const violations = layeringViolations(
      graphOf('shared/x.ts -> type lambdas/y.ts', 'shared/x.ts -> infra/local/z.ts', 'lambdas/y.ts -> infra/local/z.ts', 'infra/local/z.ts -> shared/x.ts', 'lambdas/y.ts -> shared/x.ts'),
      [],
    );
    // Assess
    expect(violations).toEqual([
      'shared/x.ts imports lambdas/y.ts: shared/ never imports lambdas/',
      'shared/x.ts imports infra/local/z.ts: shared/ never imports infra/',
      'lambdas/y.ts imports infra/local/z.ts: lambdas/ never imports infra/',
    ]);
  });

  it('refuses an adapter calling another, and a storage adapter taking a decision, but lets it take types, constants and errors', () => {
    // Act
    const violations = layeringViolations(
      graphOf(
        'shared/store/dynamo-a.ts -> shared/queue/sqs-b.ts: SqsB',
        'shared/store/dynamo-a.ts -> shared/retry/policy.ts: nextAttempt, MAX_TRIES',
        'shared/store/dynamo-a.ts -> type shared/lifecycle/transitions.ts',
        'shared/queue/sqs-b.ts -> shared/lifecycle/transitions.ts: SQS_MAX_DELAY_SECONDS',
        'shared/store/dynamo-a.ts -> shared/errors.ts: StaleNoticeError',
        'shared/store/dynamo-a.ts -> shared/store/table.ts: keyOf',
        'shared/transport/ses-transport.ts -> shared/transport/classify.ts: classifySesFailure',
      ),
      [],
    );
    // Assess
    expect(violations).toEqual([
      'shared/store/dynamo-a.ts imports shared/queue/sqs-b.ts: an adapter never calls into another adapter',
      'shared/store/dynamo-a.ts imports SqsB from shared/queue/sqs-b.ts: a storage adapter decides nothing; take the decision\'s result from its caller',
      'shared/store/dynamo-a.ts imports nextAttempt from shared/retry/policy.ts: a storage adapter decides nothing; take the decision\'s result from its caller',
    ]);
  });

  it('reads type-only imports, re-exports and dynamic imports as the compiler does', () => {
    // Act
    const imports = importsOf(
      'x.ts',
      "import type { A } from './a';\nimport { type B, c } from './b';\nimport { type D } from './d';\nexport { e } from './e';\nexport type { F } from './f';\nconst g = () => import('./g');\n",
    );
    // Assess
    expect(imports).toEqual([
      { specifier: './a', typeOnly: true, names: [] },
      { specifier: './b', typeOnly: false, names: ['c'] },
      { specifier: './d', typeOnly: true, names: [] },
      { specifier: './e', typeOnly: false, names: ['e'] },
      { specifier: './f', typeOnly: true, names: [] },
      { specifier: './g', typeOnly: false, names: ['*'] },
    ]);
  });
});
