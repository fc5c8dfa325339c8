// Module hooks (node:module `register`) that load .ts files by transpiling them with the project's
// TypeScript (`transpileModule`: no type check, legacy decorators with metadata, as tsconfig.json).
// Type checking stays `npx tsc -p tsconfig.json --noEmit`. Relative `./x.js` imports written in
// .ts sources resolve to `./x.ts` when no `x.js` exists.
//
// Transpiled output is cached under node_modules/.cache/ndc-bench-ts/ (keyed by path, size, mtime
// and the TypeScript version), so the bench's child processes start without loading TypeScript.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CACHE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', '.cache', 'ndc-bench-ts');
const CACHE_VERSION = '1';

let typescript;
async function ts() {
  typescript ??= (await import('typescript')).default;
  return typescript;
}

function typescriptVersion() {
  try {
    const path = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', 'typescript', 'package.json');
    return JSON.parse(readFileSync(path, 'utf8')).version;
  } catch {
    return 'unknown';
  }
}
const TS_VERSION = typescriptVersion();

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const fromTs = context.parentURL?.endsWith('.ts');
    if (fromTs && /^\.{1,2}\//.test(specifier) && specifier.endsWith('.js')) {
      return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
    }
    throw error;
  }
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
  const path = fileURLToPath(url);
  const info = await stat(path);
  const key = createHash('sha1')
    .update(`${CACHE_VERSION}\0${TS_VERSION}\0${path}\0${info.size}\0${info.mtimeMs}`)
    .digest('hex');
  const cached = join(CACHE_DIR, `${key}.js`);
  try {
    return { format: 'module', source: await readFile(cached, 'utf8'), shortCircuit: true };
  } catch {
    // Not cached yet.
  }
  const compiler = await ts();
  const { outputText } = compiler.transpileModule(await readFile(path, 'utf8'), {
    compilerOptions: {
      module: compiler.ModuleKind.ESNext,
      target: compiler.ScriptTarget.ES2022,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      useDefineForClassFields: false,
      esModuleInterop: true,
      inlineSourceMap: true,
    },
    fileName: path,
  });
  try {
    mkdirSync(CACHE_DIR, { recursive: true });
    writeFileSync(cached, outputText);
  } catch {
    // A read-only tree: no cache, no harm.
  }
  return { format: 'module', source: outputText, shortCircuit: true };
}
