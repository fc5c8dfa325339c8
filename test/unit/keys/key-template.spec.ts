import {
  formatKeyValue,
  KeyTemplateSyntaxError,
  parseKeyTemplate,
} from '../../../lib/keys/key-template.js';
import { hashValue } from '../../../lib/keys/argument-hash.js';

describe('parseKeyTemplate()', () => {
  describe('render()', () => {
    it('replaces {N} with argument N', () => {
      expect(parseKeyTemplate('product:{0}').render(['42'])).toBe('product:42');
      expect(parseKeyTemplate('{1}-{0}').render(['a', 'b'])).toBe('b-a');
    });

    it('follows property paths such as {0.id} and {0.owner.id}', () => {
      const template = parseKeyTemplate('user:{0.id}:orders:{1}');
      expect(template.render([{ id: 7 }, 2])).toBe('user:7:orders:2');
      expect(parseKeyTemplate('{0.owner.id}').render([{ owner: { id: 'o1' } }])).toBe('o1');
      expect(parseKeyTemplate('{0.items.1}').render([{ items: ['a', 'b'] }])).toBe('b');
    });

    it('renders a missing path as undefined rather than throwing', () => {
      expect(parseKeyTemplate('{0.a.b}').render([null])).toBe('undefined');
    });

    it('reads {result} and {result.id} from the result', () => {
      expect(parseKeyTemplate('product:{result.id}').render([], { id: 9 })).toBe('product:9');
    });

    it('renders an object argument as its stable hash', () => {
      const key = parseKeyTemplate('search:{0}').render([{ b: 1, a: 2 }]);
      expect(key).toBe(`search:${hashValue({ a: 2, b: 1 })}`);
    });
  });

  it('reports the highest argument index and whether {result} is used', () => {
    const template = parseKeyTemplate('{0}:{3.id}:{1}');
    expect(template.maxArgumentIndex).toBe(3);
    expect(template.usesResult).toBe(false);
    expect(parseKeyTemplate('static').maxArgumentIndex).toBe(-1);
    expect(parseKeyTemplate('{result}').usesResult).toBe(true);
  });

  it.each([
    ['', /empty/],
    ['a:{0', /'\{' without '\}'/],
    ['a:0}', /'\}' without '\{'/],
    ['a:{}', /bad placeholder/],
    ['a:{x}', /bad placeholder '\{x\}'/],
    ['a:{0.}', /bad placeholder/],
    ['a:{-1}', /bad placeholder/],
  ])('throws KeyTemplateSyntaxError for %p', (source, message) => {
    expect(() => parseKeyTemplate(source)).toThrow(KeyTemplateSyntaxError);
    expect(() => parseKeyTemplate(source)).toThrow(message);
  });
});

describe('formatKeyValue()', () => {
  it('formats primitives with String() and Dates as ISO strings', () => {
    expect(formatKeyValue('x')).toBe('x');
    expect(formatKeyValue(1.5)).toBe('1.5');
    expect(formatKeyValue(10n)).toBe('10');
    expect(formatKeyValue(false)).toBe('false');
    expect(formatKeyValue(null)).toBe('null');
    expect(formatKeyValue(undefined)).toBe('undefined');
    expect(formatKeyValue(new Date(0))).toBe('1970-01-01T00:00:00.000Z');
  });
});
