// @ts-check
import path from 'node:path';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/**
 * The layers of lib/, bottom first (STYLE.md, "Our layout": arrows point down only). A file may
 * import its own layer and the layers listed before it, never one listed after it. Each layer is
 * a list of globs relative to the repository root (globs only: import-x takes no mix of globs and
 * plain paths in one zone). `lib/l2/**` covers the topology subfolders (redis/, twemproxy/,
 * cluster/, sentinel/, memory/).
 *
 * Two choices worth saying:
 * - The L2 contract (`contracts/l2-store.interface.ts`, what every store implements) sits below
 *   options/, which names it in the option types of a custom store; l2/ (the stores) sits above
 *   options/, which it reads.
 * - The root files of lib/ are two layers, not one: the core (service, tokens, constants,
 *   messages, the module definition) that decorators, instrumentation, testing, metrics, health
 *   and http build on, and the wiring (module, registration, providers, lifecycle) that composes
 *   all of them into a Nest module. A new root file is core unless it is added to WIRING.
 */
const WIRING = ['cache.module', 'cache.registration', 'cache.providers', 'cache.lifecycle'];

/** The subpath exports (`nestjs-distributed-cache/metrics`, …), each a barrel `lib/<name>/index.ts`. */
const SUBPATHS = ['metrics', 'health', 'http', 'testing', 'stores'];

/** lib/index.ts and the subpath barrels. */
const ENTRY_POINTS = `lib/{index,${SUBPATHS.map((name) => `${name}/index`).join(',')}}.ts`;

/** @type {Array<[name: string, globs: string[]]>} */
const LAYERS = [
  ['errors', ['lib/errors/**']],
  ['events', ['lib/events/**']],
  ['keys', ['lib/keys/**']],
  ['serialization', ['lib/serialization/**']],
  ['the L2 contract', ['lib/contracts/**']],
  ['options', ['lib/options/**']],
  ['l1', ['lib/l1/**']],
  ['l2', ['lib/l2/**']],
  ['write-behind', ['lib/write-behind/**']],
  ['invalidation', ['lib/invalidation/**']],
  ['tiering', ['lib/tiering/**']],
  ['core', [`lib/!(index|${WIRING.join('|')}).ts`]],
  ['decorators', ['lib/decorators/**']],
  ['instrumentation', ['lib/instrumentation/**']],
  ['testing', ['lib/testing/**']],
  ['wiring', [`lib/{${WIRING.join(',')}}.ts`]],
  ['metrics', ['lib/metrics/**']],
  ['health', ['lib/health/**']],
  ['http', ['lib/http/**']],
  // The package's entry points, the root barrel and the subpath barrels, sit on top: nothing
  // else in lib/ imports them.
  ['entry points', [ENTRY_POINTS]],
];

/**
 * Globs made absolute: import-x matches `except` globs against the absolute path of the imported
 * file without resolving them against `basePath`.
 * @param {string[]} globs
 */
const abs = (globs) => globs.map((glob) => path.join(import.meta.dirname, glob));

/**
 * One zone per layer: its files may not import a layer above it. Where globs overlap
 * (lib/metrics/index.ts inside lib/metrics/**), the lower layer wins.
 */
const layerZones = LAYERS.slice(0, -1).map(([name, target], i) => {
  const above = LAYERS.slice(i + 1);
  return {
    target: abs(target),
    from: abs(above.flatMap(([, globs]) => globs)),
    except: abs(LAYERS.slice(0, i + 1).flatMap(([, globs]) => globs)),
    message: `Arrows point down only: ${name} may not import ${above.map(([n]) => n).join(', ')} (STYLE.md, "Our layout").`,
  };
});

/**
 * options/ is a leaf: besides itself, errors, serialization (the default serializer is an option's
 * default) and the L2 contract only.
 */
const optionsLeafZone = {
  target: abs(['lib/options/**']),
  from: abs(['lib/**']),
  except: abs([
    'lib/{options/**,errors/**,serialization/**,contracts/**}',
  ]),
  message:
    'options/ is a leaf: it may import errors/, serialization/ and contracts/ (the L2 contract) only (STYLE.md, "Our layout").',
};

/** The sample app consumes the library the way a user does: through its entry points. */
const sampleAppZone = {
  target: abs(['sample-app/**']),
  from: abs(['lib/**']),
  except: abs([ENTRY_POINTS]),
  message: "The sample app imports 'nestjs-distributed-cache' (and its subpaths), not lib/ files.",
};

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'sample-app/dist/**',
      'node_modules/**',
      'coverage/**',
      '.test-tmp/**',
      'bench/results/**',
      'test/compat/**',
      '*.js',
      'bench/*.js',
      'scripts/*.mjs',
      // Module hooks a test starts a child Node process with (plain JS, like bench/*.js).
      'test/support/*.mjs',
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
  // Layers: no import cycles and no upward imports between the folders of lib/.
  {
    files: ['lib/**/*.ts', 'sample-app/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // import-x reads only the files it recognises: without these it skips every .ts module
      // when it follows imports, and no-cycle finds nothing.
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/external-module-folders': ['node_modules', 'node_modules/@types'],
      // Resolves the `.js` specifiers of NodeNext to the `.ts` sources, and the tsconfig `paths`
      // ('nestjs-distributed-cache' → lib/index.ts) the sample app imports through.
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' })],
    },
    rules: {
      // The zone and cycle rules skip an import they cannot resolve; this makes that an error
      // instead, so a resolver problem cannot switch the layer checks off unnoticed.
      'import-x/no-unresolved': 'error',
      // NOTE: import-x skips type-only imports when it looks for cycles; scripts/check-import-cycles.mjs
      // (run by `npm run lint`) counts them too.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones: [...layerZones, optionsLeafZone] }],
    },
  },
  {
    files: ['sample-app/**/*.ts'],
    rules: {
      'import-x/no-cycle': 'off',
      'import-x/no-restricted-paths': ['error', { zones: [sampleAppZone] }],
    },
  },
);
