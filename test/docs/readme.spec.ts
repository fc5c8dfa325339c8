import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkLinks,
  checkOptionTables,
  fileReader,
  headingAnchors,
  linkTargets,
  optionsOf,
  regionOf,
  syncSnippets,
} from './readme-docs.js';

const root = join(import.meta.dirname, '..', '..');
const read = fileReader(root);

/** README.md and every page of docs/, relative to the repository root. */
const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((file) => file.endsWith('.md'))
    .sort()
    .map((file) => `docs/${file}`),
];

/** Pages that must hold an option table (checked against the option types). */
const OPTION_PAGES = new Set(['docs/options.md']);

describe.each(pages)('%s', (page) => {
  it('quotes the example files under test/docs/snippets verbatim', () => {
    const text = read(page);
    const { synced, problems, count } = syncSnippets(text, read, page);
    // `DOCS_WRITE=1 npm test -- test/docs/readme.spec.ts` rewrites the blocks from the files.
    if (process.env['DOCS_WRITE'] === '1' && synced !== text && count > 0) {
      writeFileSync(join(root, page), synced);
      return;
    }
    expect(problems).toEqual([]);
  });

  it('lists every option of its option tables with the @default of its JSDoc, and no other', () => {
    const required = OPTION_PAGES.has(page);
    expect(checkOptionTables(read(page), read, { required, name: page })).toEqual([]);
  });

  it('links only to files and headings that exist', () => {
    expect(checkLinks(read(page), page, linkTargets(root))).toEqual([]);
  });
});

describe('README.md and docs/', () => {
  it('hold the type-checked examples (a snippet marker over each)', () => {
    const count = pages.reduce((sum, page) => sum + syncSnippets(read(page), read, page).count, 0);
    expect(count).toBeGreaterThanOrEqual(15);
    // The newcomer's path: README's first example is the first-cache snippet, which
    // test/compat/run.sh also compiles and runs against the packed tarball.
    const first = /<!-- snippet: (\S+) -->/.exec(read('README.md'))?.[1];
    expect(first).toBe('test/docs/snippets/first-cache.ts#first-cache');
  });

  it('README.md stays short: at most ~300 lines', () => {
    expect(read('README.md').split('\n').length).toBeLessThanOrEqual(310);
  });

  it('bench/RESULTS.md links only to what exists', () => {
    expect(checkLinks(read('bench/RESULTS.md'), 'bench/RESULTS.md', linkTargets(root))).toEqual([]);
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
        '  store?: Store;',
        '}',
        'export interface Store {',
        '  readonly size: number;',
        '  get(key: string): unknown;',
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
      const rows = [
        "| `name` | `'x'` | n |",
        '| `inner` | — | i |',
        '| `inner.depth` | `5` | d |',
        '| `store` | — | a value with methods: one row, not its members |',
      ];
      expect(checkOptionTables(table(rows), readFake)).toEqual([]);
    });

    it('reports missing, extra and wrong rows', () => {
      const rows = [
        "| `name` | `'y'` | n |",
        '| `inner` | — | i |',
        '| `store` | — | s |',
        '| `gone` | 1 | g |',
      ];
      expect(checkOptionTables(table(rows), readFake)).toEqual([
        "options table: `name` shows default ''y'', its @default is ''x''",
        'options table: no row for `inner.depth` (@default 5)',
        'options table: `gone` is not an option of o.ts#Options',
      ]);
    });
  });

  describe('headingAnchors()', () => {
    it("gives GitHub's anchors, numbering repeats and skipping code blocks", () => {
      const markdown = [
        '# Tags and `clear()`',
        '## Migrating from @nestjs/cache-manager',
        '## Options',
        '```sh',
        '# not a heading',
        '```',
        '### Options',
        '## [Linked](x.md) heading',
      ].join('\n');
      expect([...headingAnchors(markdown)]).toEqual([
        'tags-and-clear',
        'migrating-from-nestjscache-manager',
        'options',
        'options-1',
        'linked-heading',
      ]);
    });
  });

  describe('checkLinks()', () => {
    const files: Record<string, string> = {
      'README.md': '# Top\n',
      'docs/a.md': '# A page\n',
      'lib/x.ts': '',
    };
    const targets = {
      exists: (path: string) => path in files || path === 'docs',
      read: (path: string) => files[path] ?? '',
    };

    it('accepts links to files, directories and headings that exist', () => {
      const markdown =
        '[a](docs/a.md#a-page) [x](lib/x.ts) [d](docs) [w](https://x.org/#y) [s](#top)\n# Top';
      expect(checkLinks(markdown, 'README.md', targets)).toEqual([]);
      expect(
        checkLinks('[r](../README.md) [x](../lib/x.ts)', 'docs/a.md', {
          ...targets,
          exists: (path) => path === 'README.md' || path === 'lib/x.ts',
        }),
      ).toEqual([]);
    });

    it('reports missing files and headings, and ignores code blocks', () => {
      const markdown = '[m](docs/b.md) [h](docs/a.md#nope)\n```\n[c](nowhere.md)\n```\n';
      expect(checkLinks(markdown, 'README.md', targets)).toEqual([
        'README.md: link docs/b.md: no file docs/b.md',
        'README.md: link docs/a.md#nope: docs/a.md has no heading #nope',
      ]);
    });
  });
});
