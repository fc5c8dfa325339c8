import { declaredParameterCount } from '../../../lib/instrumentation/parameter-list.js';

describe('declaredParameterCount()', () => {
  it('counts plain, optional and defaulted parameters', () => {
    class Service {
      none(): void {}
      two(_a: string, _b?: number): void {}
      defaults(_page = 1, _size = 20): void {}
      async asyncOne(_id: string): Promise<void> {}
      trailingComma(_a: string, _b: string): void {}
    }
    const p = Service.prototype;
    expect(declaredParameterCount(p.none)).toBe(0);
    expect(declaredParameterCount(p.two)).toBe(2);
    expect(declaredParameterCount(p.defaults)).toBe(2);
    expect(p.defaults.length).toBe(0); // why Function.length is not enough
    expect(declaredParameterCount(p.asyncOne)).toBe(1);
    expect(declaredParameterCount(p.trailingComma)).toBe(2);
  });

  it('skips strings, comments, destructuring and nested functions in defaults', () => {
    function tricky(
      _a = ')', // a comment, with a comma
      { b: _b }: { b: number; c: number } = { b: 1, c: 2 },
      _d = (x: number, y: number): number => x + y,
      /* e, */ _e = [1, 2],
    ): void {}
    expect(declaredParameterCount(tricky)).toBe(4);
  });

  it('returns undefined for a rest parameter, a bound function or native code', () => {
    function rest(_a: string, ..._more: string[]): void {}
    expect(declaredParameterCount(rest)).toBeUndefined();
    expect(declaredParameterCount(rest.bind(null))).toBeUndefined();
    expect(declaredParameterCount(Math.max)).toBeUndefined();
  });
});
