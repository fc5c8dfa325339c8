import { jest } from '@jest/globals';
import type { CacheEvent } from '../../../lib/events/cache-event.js';
import { CacheCounters } from '../../../lib/events/cache-stats.js';
import { CacheReporter } from '../../../lib/tiering/cache-reporter.js';
import type { PendingWrite } from '../../../lib/write-behind/pending-write.js';
import { RecordingLogger } from '../../support/cache-app.js';

const write = (key: string): PendingWrite => ({ kind: 'del', key, seq: 1 });

function reporter(): {
  report: CacheReporter;
  counters: CacheCounters;
  logger: RecordingLogger;
  events: CacheEvent[];
} {
  const counters = new CacheCounters();
  const logger = new RecordingLogger();
  const report = new CacheReporter(counters, 'shop:', 2_000, logger);
  const events: CacheEvent[] = [];
  report.events$.subscribe((event) => events.push(event));
  return { report, counters, logger, events };
}

describe('CacheReporter', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('counts reads by tier and misses, with one event each', () => {
    const { report, counters, events } = reporter();
    report.read('a', { value: 1, freshUntil: Infinity, tier: 'l1' });
    report.read('b', { value: 2, freshUntil: Infinity, tier: 'l2' });
    report.read('c', undefined);
    expect(counters).toMatchObject({ l1Hits: 1, l2Hits: 1, misses: 1 });
    expect(events).toEqual([
      { type: 'hit', tier: 'l1', key: 'a' },
      { type: 'hit', tier: 'l2', key: 'b' },
      { type: 'miss', key: 'c' },
    ]);
  });

  it("reports drops as events with the caller's key, and logs them as one line per reason every 5 s", () => {
    jest.useFakeTimers();
    const { report, counters, logger, events } = reporter();
    const refused = new Error('NOPERM this user has no permissions to access the key');
    for (let i = 0; i < 3; i++) {
      report.flusher({ type: 'dropped', write: write(`shop:k${i}`), reason: 'overflow' });
    }
    report.flusher({ type: 'dropped', write: write('shop:r'), reason: 'rejected', error: refused });
    report.flusher({ type: 'dropped', write: write('shop:s'), reason: 'shutdown' });
    expect(events.map((event) => event.type === 'drop' && [event.key, event.reason])).toEqual([
      ['k0', 'overflow'],
      ['k1', 'overflow'],
      ['k2', 'overflow'],
      ['r', 'rejected'],
      ['s', 'shutdown'],
    ]);
    expect(events[3]).toMatchObject({ error: refused });
    expect(counters.l2Errors).toBe(0);
    expect(logger.lines).toEqual([]);

    jest.advanceTimersByTime(5_000);
    expect(logger.lines).toEqual([
      "3 queued write(s) dropped (writeBehind.maxPending 2000 reached, overflow 'drop-oldest')",
      "1 write(s) refused by L2 for good (e.g. NOPERM, WRONGTYPE) and dropped; see 'drop' events",
    ]);

    // The next drop starts a new 5 s window; close() logs what is left at once.
    report.flusher({ type: 'dropped', write: write('shop:k9'), reason: 'overflow' });
    report.close();
    expect(logger.lines.slice(2)).toEqual([
      "1 queued write(s) dropped (writeBehind.maxPending 2000 reached, overflow 'drop-oldest')",
    ]);
    jest.advanceTimersByTime(10_000);
    expect(logger.lines).toHaveLength(3);
  });

  it('counts failed batches as L2 errors and logs breaker changes', () => {
    const { report, counters, logger, events } = reporter();
    const error = new Error('connect ECONNREFUSED');
    report.flusher({ type: 'failed', count: 10, attempt: 1, retryInMs: 100, error });
    report.breaker('open', 'redis 127.0.0.1:6379');
    report.breaker('half-open', 'redis 127.0.0.1:6379');
    report.breaker('closed', 'redis 127.0.0.1:6379');
    expect(counters.l2Errors).toBe(1);
    expect(events).toEqual([
      { type: 'flush-error', count: 10, attempt: 1, retryInMs: 100, error },
      { type: 'breaker', state: 'open' },
      { type: 'breaker', state: 'half-open' },
      { type: 'breaker', state: 'closed' },
    ]);
    expect(logger.lines).toEqual([
      'L2 circuit breaker open: L2 (redis 127.0.0.1:6379) keeps failing; serving L1 and queueing writes',
      'L2 circuit breaker closed: L2 answers again',
    ]);
  });

  it('completes events$ on close()', () => {
    const { report } = reporter();
    let completed = false;
    report.events$.subscribe({ complete: () => (completed = true) });
    report.close();
    expect(completed).toBe(true);
  });
});
