import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkOptionTables, fileReader, optionsOf, regionOf, syncSnippets } from './readme-docs.js';

const root = join(import.meta.dirname, '..', '..');
const readmePath = join(root, 'README.md');
const read = fileReader(root);

describe('README.md', () => {
  it('quotes the example files under test/docs/snippets verbatim', () => {
    const readme = readFileSync(readmePath, 'utf8');
    const { synced, problems, count } = syncSnippets(readme, read);
    // `DOCS_WRITE=1 npm test -- test/docs/readme.spec.ts` rewrites the blocks from the files.
    if (process.env['DOCS_WRITE'] === '1' && synced !== readme && count > 0) {
      writeFileSync(readmePath, synced);
      return;
    }
    expect(problems).toEqual([]);
    expect(count).toBeGreaterThanOrEqual(9);
  });

  it('lists every forRoot option with the @default of its JSDoc, and no other', () => {
    expect(checkOptionTables(readFileSync(readmePath, 'utf8'), read)).toEqual([]);
  });
});

describe('readme-docs', () => {
  describe('regionOf()', () => {
    it('joins the pieces of a region, dedents them and drops other markers', () => {
      const source = [
        '// #region a',
        "import { x } from 'x';",
        '// #endregion a',
        "import { hidden } from './support.js';",
        'export const y =',
        '  // #region a',
        '  // #region b',
        '  x(hidden);',
        '  // #endregion b',
        '  // #endregion a',
      ].join('\n');
      expect(regionOf(source, 'a')).toBe("import { x } from 'x';\nx(hidden);");
      expect(() => regionOf(source, 'c')).toThrow("no region 'c'");
    });
  });

  describe('syncSnippets()', () => {
    const files: Record<string, string> = { 'f.ts': '// #region r\nconst a = 1;\n// #endregion r' };
    const readFake = (path: string): string => files[path] ?? '';

    it('reports a block that differs and rewrites it, leaving the rest alone', () => {
      const readme = 'A\n<!-- snippet: f.ts#r -->\n```ts\nconst a = 2;\n```\nB\n```sh\nls\n```\n';
      const { synced, problems } = syncSnippets(readme, readFake);
      expect(problems).toEqual(['snippet f.ts#r differs from README.md']);
      expect(synced).toBe(
        'A\n<!-- snippet: f.ts#r -->\n```ts\nconst a = 1;\n```\nB\n```sh\nls\n```\n',
      );
    });

    it('fills an empty block and reports a marker without one', () => {
      const { synced } = syncSnippets('<!-- snippet: f.ts#r -->\n```ts\n```\n', readFake);
      expect(synced).toBe('<!-- snippet: f.ts#r -->\n```ts\nconst a = 1;\n```\n');
      expect(syncSnippets('<!-- snippet: f.ts#r -->\ntext\n', readFake).problems).toEqual([
        '1 snippet marker(s) not followed by a code block',
      ]);
    });
  });

  describe('optionsOf()', () => {
    it('walks nested interfaces and labels the differing defaults of a union', () => {
      const options = optionsOf(
        read,
        'lib/options/cache-options.interface.ts',
        'DistributedCacheModuleOptions',
      );
      const byPath = new Map(options.map((o) => [o.path, o.default]));
      expect(byPath.get('ttl')).toBe("'5m'");
      expect(byPath.get('l1.ttl')).toBe("'30s'");
      expect(byPath.get('writeBehind.maxPending')).toBe('100_000');
      expect(byPath.get('l2.port')).toBe('6379 (redis), 22121 (twemproxy)');
      expect(byPath.get('l2.url')).toBe('');
      expect(byPath.has('l2.type')).toBe(false);
    });
  });

  describe('checkOptionTables()', () => {
    const files: Record<string, string> = {
      'o.ts': [
        'export interface Inner {',
        '  /** @default 5 */',
        '  depth?: number;',
        '}',
        'export interface Options {',
        "  /** @default 'x' */ name?: string;",
        '  inner?: Inner | false;',
        '}',
      ].join('\n'),
    };
    const readFake = (path: string): string => files[path] ?? '';
    const table = (rows: string[]): string =>
      [
        '<!-- options: o.ts#Options -->',
        '| option | default | meaning |',
        '|---|---|---|',
        ...rows,
      ].join('\n');

    it('accepts a table that matches', () => {
      const rows = ["| `name` | `'x'` | n |", '| `inner` | — | i |', '| `inner.depth` | `5` | d |'];
      expect(checkOptionTables(table(rows), readFake)).toEqual([]);
    });

    it('reports missing, extra and wrong rows', () => {
      const rows = ["| `name` | `'y'` | n |", '| `inner` | — | i |', '| `gone` | 1 | g |'];
      expect(checkOptionTables(table(rows), readFake)).toEqual([
        "options table: `name` shows default ''y'', its @default is ''x''",
        'options table: no row for `inner.depth` (@default 5)',
        'options table: `gone` is not an option of o.ts#Options',
      ]);
    });
  });
});
