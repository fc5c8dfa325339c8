import { jest } from '@jest/globals';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CallDeadlines } from '../../../lib/tiering/call-deadlines.js';

/** A full garbage collection (the test runner does not expose `gc`). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** Timers that keep the event loop alive now. */
function refedTimers(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
}

describe('CallDeadlines', () => {
  describe('with fake timers', () => {
    beforeEach(() => {
      jest.useFakeTimers();
    });
    afterEach(() => {
      jest.useRealTimers();
    });

    it('expires a call that has not settled at its timeout, not before', () => {
      const deadlines = new CallDeadlines();
      const expired: string[] = [];
      deadlines.add(100, () => expired.push('a'));
      jest.advanceTimersByTime(99);
      expect(expired).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(expired).toEqual(['a']);
    });

    it('never expires a settled call, and keeps one timer for calls made one after another', () => {
      const deadlines = new CallDeadlines();
      const expired: number[] = [];
      for (let i = 0; i < 1_000; i++) {
        const deadline = deadlines.add(100, () => expired.push(i));
        expect(jest.getTimerCount()).toBe(1);
        deadlines.settle(deadline);
        jest.advanceTimersByTime(1);
      }
      jest.advanceTimersByTime(1_000);
      expect(expired).toEqual([]);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('expires an unsettled call made among settled ones on time', () => {
      const deadlines = new CallDeadlines();
      const expired: number[] = [];
      for (let i = 0; i < 50; i++) {
        const deadline = deadlines.add(100, () => expired.push(i));
        if (i !== 30) deadlines.settle(deadline);
        jest.advanceTimersByTime(1);
      }
      // Call 30 was made at 30 ms: it is due at 130 ms; 50 ms have passed.
      jest.advanceTimersByTime(79);
      expect(expired).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(expired).toEqual([30]);
    });

    it('expires a shorter timeout made after a longer one first, each at its own time', () => {
      const deadlines = new CallDeadlines();
      const expired: string[] = [];
      deadlines.add(1_000, () => expired.push('write batch'));
      deadlines.add(100, () => expired.push('read'));
      deadlines.add(300, () => expired.push('larger read'));
      jest.advanceTimersByTime(100);
      expect(expired).toEqual(['read']);
      jest.advanceTimersByTime(200);
      expect(expired).toEqual(['read', 'larger read']);
      jest.advanceTimersByTime(699);
      expect(expired).toEqual(['read', 'larger read']);
      jest.advanceTimersByTime(1);
      expect(expired).toEqual(['read', 'larger read', 'write batch']);
    });

    it('keeps each deadline when the wall clock steps back or forward', () => {
      const deadlines = new CallDeadlines();
      const expired: string[] = [];
      deadlines.add(100, () => expired.push('a'));
      jest.setSystemTime(Date.now() - 3_600_000);
      jest.advanceTimersByTime(99);
      expect(expired).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(expired).toEqual(['a']);
      deadlines.add(100, () => expired.push('b'));
      jest.setSystemTime(Date.now() + 3_600_000);
      jest.advanceTimersByTime(99);
      expect(expired).toEqual(['a']);
      jest.advanceTimersByTime(1);
      expect(expired).toEqual(['a', 'b']);
    });

    it('runs every due callback and keeps watching when one of them throws', () => {
      const deadlines = new CallDeadlines();
      const expired: string[] = [];
      const uncaught: unknown[] = [];
      // The rethrow goes to the next tick: caught here instead of failing the test run.
      const rethrow = ((callback: () => void) => {
        try {
          callback();
        } catch (error: unknown) {
          uncaught.push(error);
        }
      }) as typeof process.nextTick;
      const nextTick = jest.spyOn(process, 'nextTick').mockImplementation(rethrow);
      try {
        deadlines.add(100, () => {
          throw new Error('listener failed');
        });
        deadlines.add(100, () => expired.push('b'));
        deadlines.add(200, () => expired.push('c'));
        jest.advanceTimersByTime(100);
        expect(expired).toEqual(['b']);
        expect(uncaught).toEqual([new Error('listener failed')]);
        jest.advanceTimersByTime(100);
        expect(expired).toEqual(['b', 'c']);
      } finally {
        nextTick.mockRestore();
      }
    });

    it('settling twice, or after expiry, changes nothing', () => {
      const deadlines = new CallDeadlines();
      const expired: string[] = [];
      const a = deadlines.add(100, () => expired.push('a'));
      jest.advanceTimersByTime(100);
      deadlines.settle(a);
      deadlines.settle(a);
      const b = deadlines.add(100, () => expired.push('b'));
      jest.advanceTimersByTime(100);
      expect(expired).toEqual(['a', 'b']);
      deadlines.settle(b);
    });
  });

  it('holds the process open only while a call is pending', () => {
    const deadlines = new CallDeadlines();
    const before = refedTimers();
    const first = deadlines.add(60_000, () => undefined);
    expect(refedTimers()).toBe(before + 1);
    const second = deadlines.add(60_000, () => undefined);
    deadlines.settle(first);
    expect(refedTimers()).toBe(before + 1);
    deadlines.settle(second);
    expect(refedTimers()).toBe(before);
    // Pending again: the same timer holds it.
    const third = deadlines.add(60_000, () => undefined);
    expect(refedTimers()).toBe(before + 1);
    deadlines.settle(third);
    expect(refedTimers()).toBe(before);
  });

  it('lets go of what a settled call held while its deadline still waits for the timer', async () => {
    const deadlines = new CallDeadlines();
    const held: Array<WeakRef<object>> = [];
    for (let i = 0; i < 10; i++) {
      const batch = { values: new Array<string>(1_000).fill(`value ${i}`) };
      held.push(new WeakRef(batch));
      deadlines.settle(deadlines.add(60_000, () => void batch.values.length));
    }
    // WeakRef targets stay alive until the current job ends.
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    expect(held.filter((ref) => ref.deref() !== undefined)).toHaveLength(0);
  });
});
