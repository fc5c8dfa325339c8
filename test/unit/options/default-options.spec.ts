import { DEFAULT_OPTIONS, optionNames } from '../../../lib/options/default-options.js';
import { fileReader, optionsOf } from '../../docs/readme-docs.js';

/**
 * DEFAULT_OPTIONS is where the validator takes every default from; the option types say the same
 * in their JSDoc `@default` (which the docs' options tables are checked against): the two must
 * agree, option by option.
 */
const read = fileReader(new URL('../../..', import.meta.url).pathname);

/** `@default` text as a value: `10_000` → 10000, `'30s'` → '30s', `67_108_864 (64 MiB)` → 67108864. */
function parseDefault(text: string): unknown {
  const first = text.split(' (')[0]!.trim();
  if (/^[\d_]+$/.test(first)) return Number(first.replace(/_/g, ''));
  if (/^'.*'$/.test(first)) return first.slice(1, -1);
  if (first === 'true' || first === 'false') return first === 'true';
  return first;
}

function valueAt(path: string): unknown {
  return path.split('.').reduce<unknown>((node, part) => {
    return typeof node === 'object' && node !== null
      ? (node as Record<string, unknown>)[part]
      : undefined;
  }, DEFAULT_OPTIONS);
}

describe('DEFAULT_OPTIONS', () => {
  const documented = optionsOf(
    read,
    'lib/options/cache-options.interface.ts',
    'DistributedCacheModuleOptions',
  );

  it('holds the documented @default of every option that has a plain value', () => {
    const checked: string[] = [];
    for (const { path, default: text } of documented) {
      const expected = valueAt(path);
      if (
        typeof expected !== 'number' &&
        typeof expected !== 'string' &&
        typeof expected !== 'boolean'
      ) {
        continue; // objects (l2, circuitBreaker) and options without a default
      }
      expect([path, parseDefault(text)]).toEqual([path, expected]);
      checked.push(path);
    }
    expect(checked).toEqual(
      expect.arrayContaining(['namespace', 'ttl', 'l1.max', 'l1.ttl', 'writeBehind.maxPending']),
    );
  });

  it('names exactly the options the types declare, at every level', () => {
    const declared = new Set(documented.map(({ path }) => path));
    const accepted = [
      // isGlobal belongs to the registration (cache.module-definition.ts), not to the cache.
      ...optionNames('').filter((name) => name !== 'isGlobal'),
      ...optionNames('l1').map((name) => `l1.${name}`),
      ...optionNames('writeBehind').map((name) => `writeBehind.${name}`),
      ...optionNames('invalidation').map((name) => `invalidation.${name}`),
      ...optionNames('circuitBreaker').map((name) => `circuitBreaker.${name}`),
    ];
    for (const path of accepted) expect([path, declared.has(path)]).toEqual([path, true]);
  });
});
