// The project's import graph, read with the TypeScript compiler's own parser, and the layering rules
// it must keep (docs/contributing/layout.md): no cycles, no import upward, no adapter that borrows logic.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import * as ts from 'typescript';

/** One import of a module: what it names, and whether only as types. */
export interface ImportEdge {
  from: string;
  to: string;
  typeOnly: boolean;
  /** The names imported (`*` for a namespace, `default`, or none for a side-effect import). */
  names: string[];
}

export type ImportGraph = Map<string, ImportEdge[]>;

/** The layers, lowest first: a module may import its own layer and those below it. */
export const LAYERS = ['shared', 'lambdas', 'infra'] as const;

/** The modules that speak to one technology: they translate, and never call into one another. */
export const ADAPTERS = [/^shared\/store\/dynamo-[\w-]+\.ts$/, /^shared\/queue\/sqs-[\w-]+\.ts$/, /^shared\/transport\/(ses|smtp)-transport\.ts$/, /^shared\/secrets-manager\.ts$/];

/**
 * Storage and queue adapters store and fetch: they decide nothing. From the rest of shared/ they take
 * types, constants (NAMES_IN_CAPITALS) and what every layer shares, never a function that decides.
 */
export const STORAGE_ADAPTERS = [/^shared\/store\/dynamo-[\w-]+\.ts$/, /^shared\/queue\/sqs-[\w-]+\.ts$/];
const SHARED_BY_EVERY_LAYER = new Set(['shared/errors.ts', 'shared/batching.ts', 'shared/ids.ts', 'shared/clock.ts']);

/** Imports the rules allow for now, each with its reason; an entry goes once its import does. None today. */
export const KNOWN_EXCEPTIONS: ReadonlyArray<{ from: string; to: string; why: string }> = [];

const sourceFiles = (root: string, folder: string): string[] => {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith('.ts') && !path.endsWith('.d.ts')) found.push(relative(root, path));
    }
  };
  walk(join(root, folder));
  return found;
};

/** Resolves a relative specifier to a module of the project (a .ts file, a folder's index.ts, or a .json file). */
const resolveRelative = (root: string, from: string, specifier: string, exists: (path: string) => boolean): string | undefined => {
  const base = resolve(root, dirname(from), specifier);
  return [`${base}.ts`, join(base, 'index.ts'), base].map((path) => relative(root, path)).find(exists);
};

const isTypeOnlyImport = (clause: ts.ImportClause | undefined): boolean => {
  if (!clause) return false;
  if (clause.isTypeOnly) return true;
  const bindings = clause.namedBindings;
  return !clause.name && bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((element) => element.isTypeOnly);
};

const namesOf = (clause: ts.ImportClause | undefined): string[] => {
  if (!clause) return [];
  const names = clause.name ? ['default'] : [];
  const bindings = clause.namedBindings;
  if (bindings && ts.isNamespaceImport(bindings)) names.push('*');
  if (bindings && ts.isNamedImports(bindings)) {
    for (const element of bindings.elements) if (!element.isTypeOnly && !clause.isTypeOnly) names.push((element.propertyName ?? element.name).text);
  }
  return names;
};

/**
 * The imports of one module's text: static imports, re-exports, dynamic import() calls, the `require` of
 * a module loaded at its first use, and the `typeof import()` that types it.
 */
export const importsOf = (fileName: string, text: string): Array<{ specifier: string; typeOnly: boolean; names: string[] }> => {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: Array<{ specifier: string; typeOnly: boolean; names: string[] }> = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ specifier: node.moduleSpecifier.text, typeOnly: isTypeOnlyImport(node.importClause), names: namesOf(node.importClause) });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const names = node.exportClause && ts.isNamedExports(node.exportClause) ? node.exportClause.elements.map((element) => (element.propertyName ?? element.name).text) : ['*'];
      found.push({ specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly, names: node.isTypeOnly ? [] : names });
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require')) &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      found.push({ specifier: node.arguments[0].text, typeOnly: false, names: ['*'] });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push({ specifier: node.argument.literal.text, typeOnly: true, names: [] });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
};

/** The graph of the project's own modules under `folders` (packages are left out). */
export const readImportGraph = (root: string, folders: readonly string[] = LAYERS): ImportGraph => {
  const files = folders.flatMap((folder) => sourceFiles(root, folder));
  const known = new Set(files);
  const exists = (path: string) => known.has(path) || (path.endsWith('.json') && statSync(join(root, path), { throwIfNoEntry: false })?.isFile() === true);
  const graph: ImportGraph = new Map();
  for (const file of files) {
    const edges = importsOf(file, readFileSync(join(root, file), 'utf8'))
      .filter((entry) => entry.specifier.startsWith('.'))
      .flatMap((entry) => {
        const to = resolveRelative(root, file, entry.specifier, exists);
        return to ? [{ from: file, to, typeOnly: entry.typeOnly, names: entry.names }] : [];
      });
    graph.set(file, edges);
  }
  return graph;
};

/** Every cycle, as the modules of each strongly connected component (Tarjan), type-only imports included. */
export const findCycles = (graph: ImportGraph): string[][] => {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const connect = (module: string) => {
    index.set(module, counter);
    low.set(module, counter++);
    stack.push(module);
    onStack.add(module);
    for (const { to } of graph.get(module) ?? []) {
      if (!index.has(to)) {
        connect(to);
        low.set(module, Math.min(low.get(module) as number, low.get(to) as number));
      } else if (onStack.has(to)) {
        low.set(module, Math.min(low.get(module) as number, index.get(to) as number));
      }
    }
    if (low.get(module) !== index.get(module)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop() as string;
      onStack.delete(member);
      component.push(member);
    } while (member !== module);
    const selfImport = (graph.get(module) ?? []).some((edge) => edge.to === module);
    if (component.length > 1 || selfImport) cycles.push(component.sort());
  };
  for (const module of graph.keys()) if (!index.has(module)) connect(module);
  return cycles;
};

const layerOf = (module: string): number => LAYERS.findIndex((layer) => module.startsWith(`${layer}/`));
const matches = (patterns: RegExp[], module: string) => patterns.some((pattern) => pattern.test(module));
const isConstantName = (name: string) => /^[A-Z][A-Z0-9_]*$/.test(name);

/** Every import that breaks a rule, said as a person would fix it; exceptions are left out. */
export const layeringViolations = (graph: ImportGraph, exceptions: typeof KNOWN_EXCEPTIONS = KNOWN_EXCEPTIONS): string[] => {
  const excepted = (edge: ImportEdge) => exceptions.some((exception) => exception.from === edge.from && exception.to === edge.to);
  const violations: string[] = [];
  for (const edges of graph.values()) {
    for (const edge of edges) {
      if (excepted(edge)) continue;
      const [fromLayer, toLayer] = [layerOf(edge.from), layerOf(edge.to)];
      if (fromLayer >= 0 && toLayer > fromLayer) {
        violations.push(`${edge.from} imports ${edge.to}: ${LAYERS[fromLayer]}/ never imports ${LAYERS[toLayer]}/`);
      }
      if (edge.typeOnly) continue;
      if (matches(ADAPTERS, edge.from) && matches(ADAPTERS, edge.to) && edge.from !== edge.to) {
        violations.push(`${edge.from} imports ${edge.to}: an adapter never calls into another adapter`);
      }
      const sameFamily = dirname(edge.from) === dirname(edge.to);
      if (matches(STORAGE_ADAPTERS, edge.from) && edge.to.startsWith('shared/') && !sameFamily && !SHARED_BY_EVERY_LAYER.has(edge.to)) {
        const logic = edge.names.filter((name) => !isConstantName(name));
        if (logic.length > 0) violations.push(`${edge.from} imports ${logic.join(', ')} from ${edge.to}: a storage adapter decides nothing; take the decision's result from its caller`);
      }
    }
  }
  return violations;
};
