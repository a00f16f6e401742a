import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readImportGraph } from '../../support/import-graph';

const ROOT = join(__dirname, '..', '..', '..');

describe('Layout: module headers', () => {
  it('opens every module of lambdas/, shared/ and infra/ with a comment saying where it stands and what it decides', () => {
    // Prepare
    const modules = [...readImportGraph(ROOT).keys()];
    // Act
    const withoutHeader = modules.filter((module) => !/^\/\/ \S.{20,}/.test(readFileSync(join(ROOT, module), 'utf8')));
    // Assess
    expect(modules.length).toBeGreaterThan(90);
    expect(withoutHeader).toEqual([]);
  });
});
