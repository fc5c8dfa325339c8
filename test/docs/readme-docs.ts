import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import ts from 'typescript';

/*
 * Keeps README.md and docs/*.md honest about the code (run by test/docs/readme.spec.ts):
 *
 * 1. Snippets. A code block right under `<!-- snippet: path#region -->` is the text between
 *    `// #region <region>` and `// #endregion <region>` of that file (a region may come in several
 *    pieces, which are joined; marker lines of other regions are left out; the text is dedented).
 *    The files live under test/docs/snippets, are type-checked by `npm run typecheck` and
 *    exercised by the specs in test/docs, so every README example compiles and works.
 * 2. Option tables. A markdown table right under `<!-- options: file#Interface ... -->` (or
 *    `<!-- fields: ... -->`, for an interface that is not options) must list
 *    every option of those interfaces (nested option interfaces as dotted paths; a union of
 *    interfaces such as `l2` by property name), and nothing else, with the option's JSDoc
 *    `@default` in its second column (backticks and spacing aside). Options without `@default`
 *    may say anything there.
 * 3. Links. A relative link names a file of the repository, and its `#anchor`, if any, a heading
 *    of that markdown file (GitHub's anchors).
 */

/** Backticks and runs of whitespace do not matter when comparing defaults. */
function normalise(text: string): string {
  return text.replace(/`/g, '').replace(/\s+/g, ' ').trim();
}

/** Reads a file of the repository. */
export type ReadFile = (path: string) => string;

/** Reads files relative to `root`. */
export function fileReader(root: string): ReadFile {
  return (path) => readFileSync(join(root, path), 'utf8');
}

// --- snippets ---------------------------------------------------------------------------------

/**
 * The text of `region` in `source`, its pieces joined and dedented, without leading or trailing
 * blank lines.
 * @throws Error when the source has no such region
 */
export function regionOf(source: string, region: string): string {
  const pieces: string[][] = [];
  let piece: string[] | undefined;
  let found = false;
  for (const line of source.split('\n')) {
    const marker = /^\s*\/\/ #(region|endregion) (\S+)\s*$/.exec(line);
    if (marker) {
      if (marker[2] === region) {
        found = true;
        piece = marker[1] === 'region' ? [] : undefined;
        if (piece) pieces.push(piece);
      }
      continue;
    }
    piece?.push(line);
  }
  if (!found) throw new Error(`no region '${region}'`);
  // Each piece on its own: one may sit inside an expression (indented), another at top level.
  return pieces
    .map(dedent)
    .join('\n')
    .replace(/^\n+|\n+$/g, '');
}

function dedent(lines: readonly string[]): string {
  const indents = lines
    .filter((line) => line.trim() !== '')
    .map((line) => (/^ */.exec(line) as RegExpExecArray)[0].length);
  const indent = indents.length > 0 ? Math.min(...indents) : 0;
  return lines.map((line) => line.slice(indent)).join('\n');
}

// The block's body is whole lines, none starting with ```, so a match never runs past its own
// closing fence into the rest of the README.
const SNIPPET = /(<!-- snippet: ([^#\s]+)#(\S+) -->\n```\w*\n)((?:(?!```)[^\n]*\n)*)```/g;

/** What {@link syncSnippets} found. */
export interface SnippetSync {
  /** The README with every snippet block replaced by its region's text. */
  readonly synced: string;
  /** Blocks that differ from their region, and markers that could not be used. */
  readonly problems: string[];
  readonly count: number;
}

/**
 * Compares (and rewrites, in `synced`) every snippet block of `readme`, a markdown file named
 * `name` in the problems.
 */
export function syncSnippets(readme: string, read: ReadFile, name = 'README.md'): SnippetSync {
  const problems: string[] = [];
  let count = 0;
  const synced = readme.replace(
    SNIPPET,
    (block: string, head: string, file: string, region: string, body: string) => {
      count++;
      let text: string;
      try {
        text = regionOf(read(file), region);
      } catch (error: unknown) {
        problems.push(`snippet ${file}#${region}: ${(error as Error).message}`);
        return block;
      }
      if (`${text}\n` !== body) problems.push(`snippet ${file}#${region} differs from ${name}`);
      return `${head}${text}\n\`\`\``;
    },
  );
  const markers = readme.match(/<!-- snippet: /g)?.length ?? 0;
  if (markers !== count) {
    problems.push(`${markers - count} snippet marker(s) not followed by a code block`);
  }
  return { synced, problems, count };
}

// --- option tables ----------------------------------------------------------------------------

/** One row an options table must have. */
export interface OptionDoc {
  /** Dotted path, e.g. `writeBehind.maxPending`. */
  readonly path: string;
  /** The JSDoc `@default`, normalised; `''` when there is none. */
  readonly default: string;
}

type Declaration = ts.InterfaceDeclaration | ts.TypeAliasDeclaration;

function declarationOf(source: ts.SourceFile, name: string): Declaration | undefined {
  return source.statements.find(
    (node): node is Declaration =>
      (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) &&
      node.name.text === name,
  );
}

function defaultOf(node: ts.Node): string | undefined {
  for (const tag of ts.getJSDocTags(node)) {
    if (tag.tagName.text === 'default') {
      return normalise(ts.getTextOfJSDocComment(tag.comment) ?? '');
    }
  }
  return undefined;
}

/**
 * The interfaces a property's type names when it is (a union of) references to declarations of
 * the same file, `false` and `undefined` aside; undefined for any other type (a leaf option).
 */
function nestedInterfaces(
  source: ts.SourceFile,
  type: ts.TypeNode,
): ts.InterfaceDeclaration[] | undefined {
  const parts = ts.isUnionTypeNode(type) ? type.types : [type];
  const out: ts.InterfaceDeclaration[] = [];
  for (const part of parts) {
    if (ts.isLiteralTypeNode(part) && part.literal.kind === ts.SyntaxKind.FalseKeyword) continue;
    if (part.kind === ts.SyntaxKind.UndefinedKeyword) continue;
    if (!ts.isTypeReferenceNode(part) || !ts.isIdentifier(part.typeName)) return undefined;
    const declaration = declarationOf(source, part.typeName.text);
    if (!declaration) return undefined;
    if (ts.isInterfaceDeclaration(declaration)) {
      // An interface with methods is a value the option takes (e.g. a registry), not options.
      if (declaration.members.some(ts.isMethodSignature)) return undefined;
      out.push(declaration);
      continue;
    }
    const members = nestedInterfaces(source, declaration.type);
    if (!members) return undefined;
    out.push(...members);
  }
  return out.length > 0 ? out : undefined;
}

/** The properties of an interface, after those of the same-file interfaces it extends. */
function propertiesOf(
  source: ts.SourceFile,
  declaration: ts.InterfaceDeclaration,
): ts.PropertySignature[] {
  const inherited: ts.PropertySignature[] = [];
  for (const clause of declaration.heritageClauses ?? []) {
    for (const base of clause.types) {
      const parent = ts.isIdentifier(base.expression)
        ? declarationOf(source, base.expression.text)
        : undefined;
      if (parent && ts.isInterfaceDeclaration(parent)) {
        inherited.push(...propertiesOf(source, parent));
      }
    }
  }
  return [...inherited, ...declaration.members.filter(ts.isPropertySignature)];
}

/** The `type: '...'` of a union member, to label its defaults. */
function discriminantOf(declaration: ts.InterfaceDeclaration): string {
  for (const member of declaration.members) {
    if (!ts.isPropertySignature(member) || member.name.getText() !== 'type') continue;
    const type = member.type;
    if (type && ts.isLiteralTypeNode(type) && ts.isStringLiteral(type.literal)) {
      return type.literal.text;
    }
  }
  return declaration.name.text;
}

/**
 * Every option of `interfaceName` in `file`, as README rows: nested option interfaces as dotted
 * paths; for a union of interfaces, one row per property name (the `type` discriminant aside),
 * whose default is the members' common default, or each member's labelled
 * (`6379 (redis), 22121 (twemproxy)`) when they differ.
 * @throws Error when the file declares no such interface
 */
export function optionsOf(read: ReadFile, file: string, interfaceName: string): OptionDoc[] {
  const source = ts.createSourceFile(file, read(file), ts.ScriptTarget.ES2022, true);
  const root = declarationOf(source, interfaceName);
  if (!root || !ts.isInterfaceDeclaration(root)) {
    throw new Error(`${file} declares no interface ${interfaceName}`);
  }
  const rows: OptionDoc[] = [];
  const walk = (declaration: ts.InterfaceDeclaration, prefix: string): void => {
    for (const property of propertiesOf(source, declaration)) {
      const path = `${prefix}${property.name.getText()}`;
      rows.push({ path, default: defaultOf(property) ?? '' });
      const nested = property.type && nestedInterfaces(source, property.type);
      if (!nested) continue;
      if (nested.length === 1) {
        walk(nested[0] as ts.InterfaceDeclaration, `${path}.`);
        continue;
      }
      const byName = new Map<string, Array<{ value: string; member: string }>>();
      for (const member of nested) {
        for (const prop of propertiesOf(source, member)) {
          const name = prop.name.getText();
          if (name === 'type') continue;
          const list = byName.get(name) ?? [];
          const value = defaultOf(prop);
          if (value !== undefined) list.push({ value, member: discriminantOf(member) });
          byName.set(name, list);
        }
      }
      for (const [name, defaults] of byName) {
        const distinct = new Set(defaults.map((d) => d.value));
        rows.push({
          path: `${path}.${name}`,
          default:
            distinct.size <= 1
              ? ([...distinct][0] ?? '')
              : defaults.map((d) => `${d.value} (${d.member})`).join(', '),
        });
      }
    }
  };
  walk(root, '');
  return rows;
}

// `fields:` marks a table of an interface's fields that are not options (e.g. `stats()`); it is
// checked the same way.
const OPTIONS_TABLE = /<!-- (?:options|fields): ([^>]+?) -->\n((?:\|[^\n]*(?:\n|$))+)/g;

/**
 * Every difference between the option tables of a markdown file and the option types; with
 * `required`, a file without any option table is a problem too.
 */
export function checkOptionTables(
  readme: string,
  read: ReadFile,
  { required = true, name = 'README.md' }: { required?: boolean; name?: string } = {},
): string[] {
  const problems: string[] = [];
  let tables = 0;
  for (const match of readme.matchAll(OPTIONS_TABLE)) {
    tables++;
    const refs = (match[1] as string).trim();
    const expected = new Map<string, string>();
    for (const ref of refs.split(/\s+/)) {
      const [file, name] = ref.split('#');
      if (!file || !name) {
        problems.push(`options table: '${ref}' is not file#Interface`);
        continue;
      }
      for (const option of optionsOf(read, file, name)) {
        const seen = expected.get(option.path);
        if (seen && option.default && seen !== option.default) {
          problems.push(
            `option ${option.path}: two @default in the types ('${seen}', '${option.default}')`,
          );
        }
        if (!seen) expected.set(option.path, option.default);
      }
    }
    const documented = new Map<string, string>();
    const lines = (match[2] as string).trimEnd().split('\n').slice(2); // header and |---|
    for (const line of lines) {
      const cells = line
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((cell) => cell.trim());
      for (const path of (cells[0] ?? '').matchAll(/`([^`]+)`/g)) {
        documented.set(path[1] as string, normalise(cells[1] ?? ''));
      }
    }
    for (const [path, value] of expected) {
      const shown = documented.get(path);
      if (shown === undefined) {
        problems.push(
          `options table: no row for \`${path}\`${value ? ` (@default ${value})` : ''}`,
        );
      } else if (value && shown !== value) {
        problems.push(
          `options table: \`${path}\` shows default '${shown}', its @default is '${value}'`,
        );
      }
    }
    for (const path of documented.keys()) {
      if (!expected.has(path))
        problems.push(`options table: \`${path}\` is not an option of ${refs}`);
    }
  }
  if (required && tables === 0) {
    problems.push(`${name} has no table under an <!-- options: ... --> marker`);
  }
  return problems;
}

// --- links ------------------------------------------------------------------------------------

/** The markdown outside fenced code blocks (links and headings inside them are not real). */
function outsideCode(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n(?:(?!```)[^\n]*\n)*```[^\n]*$/gm, '');
}

/**
 * The anchors GitHub gives the headings of `markdown`: the heading's text in lower case, without
 * punctuation other than `-` and `_`, spaces as `-`; a repeated anchor gets `-1`, `-2`, ...
 */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const match of outsideCode(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const text = (match[1] as string).replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** What {@link checkLinks} needs of the repository. */
export interface LinkTargets {
  /** Whether a file or directory exists, by path relative to the repository root. */
  exists(path: string): boolean;
  read: ReadFile;
}

/** Links of `markdown` (the file `name`, relative to the repository root) that lead nowhere. */
export function checkLinks(markdown: string, name: string, targets: LinkTargets): string[] {
  const problems: string[] = [];
  for (const match of outsideCode(markdown).matchAll(/\]\(([^)\s]+)\)/g)) {
    const link = match[1] as string;
    if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto:
    const [path = '', anchor] = link.split('#');
    const target = path === '' ? name : normalize(join(dirname(name), path));
    if (target.startsWith('..') || !targets.exists(target)) {
      problems.push(`${name}: link ${link}: no file ${target}`);
      continue;
    }
    if (anchor === undefined) continue;
    if (!target.endsWith('.md')) {
      problems.push(`${name}: link ${link}: an anchor into a file that is not markdown`);
    } else if (!headingAnchors(targets.read(target)).has(anchor)) {
      problems.push(`${name}: link ${link}: ${target} has no heading #${anchor}`);
    }
  }
  return problems;
}

/** Files and directories relative to `root`. */
export function linkTargets(root: string): LinkTargets {
  return { exists: (path) => existsSync(join(root, path)), read: fileReader(root) };
}
