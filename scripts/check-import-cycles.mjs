// Fails when the files of lib/ import each other in a circle, type-only imports included.
//
// `import-x/no-cycle` (in eslint.config.js) skips `import type`, so a circle made only of type
// imports (cached-method.plan.ts ↔ call-key.compiler.ts once was one) passes it. Such a circle
// costs nothing at run time but still ties two files together. This resolves every import,
// export-from and import() of lib/ the way TypeScript does (NodeNext: './x.js' → './x.ts') and
// reports each strongly connected group of files. Run by `npm run lint`; takes about a second.
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(import.meta.dirname, '..');
const lib = path.join(root, 'lib');
const compilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
};

const files = fs
  .readdirSync(lib, { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.ts'))
  .map((file) => path.join(lib, file));

/** @type {Map<string, string[]>} file → the lib/ files it imports */
const graph = new Map();
for (const file of files) {
  const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
  const targets = [];
  for (const { fileName } of importedFiles) {
    const resolved = ts.resolveModuleName(
      fileName,
      file,
      compilerOptions,
      ts.sys,
      undefined,
      undefined,
      ts.ModuleKind.ESNext,
    ).resolvedModule;
    if (
      resolved &&
      !resolved.isExternalLibraryImport &&
      resolved.resolvedFileName.startsWith(lib + path.sep)
    ) {
      targets.push(path.normalize(resolved.resolvedFileName));
    }
  }
  graph.set(file, targets);
}

// Tarjan's strongly connected components: every group of two or more files is a circle.
let counter = 0;
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const circles = [];
/** @param {string} file */
function visit(file) {
  index.set(file, counter);
  low.set(file, counter);
  counter += 1;
  stack.push(file);
  onStack.add(file);
  for (const next of graph.get(file) ?? []) {
    if (!index.has(next)) {
      visit(next);
      low.set(file, Math.min(low.get(file), low.get(next)));
    } else if (onStack.has(next)) {
      low.set(file, Math.min(low.get(file), index.get(next)));
    }
  }
  if (low.get(file) === index.get(file)) {
    const group = [];
    let member;
    do {
      member = stack.pop();
      onStack.delete(member);
      group.push(member);
    } while (member !== file);
    if (group.length > 1) circles.push(group);
  }
}
for (const file of graph.keys()) if (!index.has(file)) visit(file);

if (circles.length === 0) {
  console.log(`check-import-cycles: ${files.length} files in lib/, no import cycle`);
} else {
  console.error(
    `check-import-cycles: ${circles.length} import cycle(s) in lib/ (type-only imports count):`,
  );
  for (const group of circles) {
    const members = new Set(group);
    console.error(
      `- ${group
        .map((file) => path.relative(root, file))
        .sort()
        .join(', ')}`,
    );
    for (const file of [...group].sort()) {
      const inside = (graph.get(file) ?? []).filter((target) => members.has(target));
      console.error(
        `    ${path.relative(root, file)} → ${inside.map((target) => path.relative(root, target)).join(', ')}`,
      );
    }
  }
  process.exitCode = 1;
}
