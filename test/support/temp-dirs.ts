// Directories a test file makes under the system's temporary folder, removed when it is done, so that
// `npm test` leaves nothing behind on the machine (cdk synth output alone is megabytes a run).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TemporaryDirectories {
  /** A new, empty directory whose name starts with `prefix`. */
  make(prefix: string): string;
  /** Removes every directory made, with what is in it. */
  removeAll(): void;
}

/**
 * @example
 * const temporary = temporaryDirectories();
 * afterAll(() => temporary.removeAll());
 * const dir = temporary.make('notice-relay-data-');
 */
export const temporaryDirectories = (): TemporaryDirectories => {
  const made: string[] = [];
  return {
    make: (prefix) => {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      made.push(dir);
      return dir;
    },
    removeAll: () => {
      for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
};
