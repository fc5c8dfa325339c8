import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUN_DIR_ENV } from './global-setup.js';

/**
 * Creates a fresh, empty directory `<run dir or os.tmpdir()>/<prefix>XXXXXX` and returns its path.
 * Servers keep their pidfile (named `*.pid`, so the end-of-run sweep finds it), log and data here.
 */
export function makeTempDir(prefix: string): string {
  const runDir = process.env[RUN_DIR_ENV];
  const base = runDir !== undefined && runDir !== '' && existsSync(runDir) ? runDir : tmpdir();
  return mkdtempSync(join(base, prefix));
}
