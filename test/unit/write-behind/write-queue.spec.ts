import type { PendingWrite } from '../../../lib/write-behind/pending-write.js';
import { WriteQueue } from '../../../lib/write-behind/write-queue.js';

let seq = 0;
const set = (key: string): PendingWrite => ({
  kind: 'set',
  key,
  payload: key,
  expiresAt: Date.now() + 60_000,
  seq: ++seq,
});

describe('WriteQueue', () => {
  it('holds one write per key: a newer write replaces the queued one and goes to the back', () => {
    const queue = new WriteQueue();
    const a1 = set('a');
    const b = set('b');
    const a2 = set('a');
    expect(queue.push(a1)).toBe(false);
    queue.push(b);
    expect(queue.push(a2)).toBe(true);
    expect(queue.size).toBe(2);
    expect(queue.get('a')).toBe(a2);
    expect(queue.oldest()).toBe(b);
    expect(queue.take(10)).toEqual([b, a2]);
    expect(queue.size).toBe(0);
    expect(queue.take(10)).toEqual([]);
  });

  it('takes the oldest writes in order, in slices, across 100,000 writes with replacements', () => {
    const queue = new WriteQueue();
    const expected: PendingWrite[] = [];
    for (let i = 0; i < 100_000; i++) queue.push(set(`k${i}`));
    // Replace every tenth key: those move to the back, in the order they were replaced.
    const replaced: PendingWrite[] = [];
    for (let i = 0; i < 100_000; i += 10) {
      const write = set(`k${i}`);
      queue.push(write);
      replaced.push(write);
    }
    for (let i = 0; i < 100_000; i++) if (i % 10 !== 0) expected.push(queue.get(`k${i}`)!);
    expected.push(...replaced);
    const taken: PendingWrite[] = [];
    while (queue.size > 0) taken.push(...queue.take(1_000));
    expect(taken).toEqual(expected);
  });

  it('take() stops before the first blocked key, leaving it and every later write queued in order', () => {
    const queue = new WriteQueue();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(set);
    for (const write of [a, b, c, d]) queue.push(write!);
    const replacedB = set('b'); // b moves to the back; its old slot is skipped, not a stop
    queue.push(replacedB);
    expect(queue.take(10, (key) => key === 'd')).toEqual([a, c]);
    expect(queue.take(10, (key) => key === 'd')).toEqual([]);
    expect(queue.size).toBe(2);
    expect(queue.take(10)).toEqual([d, replacedB]);
  });

  it('remove() takes out only the write still queued for its key', () => {
    const queue = new WriteQueue();
    const old = set('k');
    queue.push(old);
    const newer = set('k');
    queue.push(newer);
    expect(queue.remove(old)).toBe(false);
    expect(queue.remove(newer)).toBe(true);
    expect(queue.size).toBe(0);
    expect(queue.oldest()).toBeUndefined();
  });

  it('prepend() puts failed writes before the queued ones, in their order', () => {
    const queue = new WriteQueue();
    const [a, b, c, d] = [set('a'), set('b'), set('c'), set('d')];
    queue.push(a);
    queue.push(b);
    const taken = queue.take(2);
    queue.push(c);
    queue.push(d);
    queue.take(1); // c leaves too
    queue.prepend(taken);
    expect(queue.peek(10)).toEqual([a, b, d]);
    expect(queue.clear()).toEqual([a, b, d]);
    expect(queue.size).toBe(0);
  });

  it('prepend() keeps call order when batches taken together come back one by one, in any order', () => {
    const queue = new WriteQueue();
    const writes = Array.from({ length: 6 }, (_, i) => set(`k${i}`));
    for (const write of writes) queue.push(write);
    const [first, second] = [queue.take(2), queue.take(2)];
    const newer = set('k9');
    queue.push(newer);
    queue.prepend(second);
    queue.prepend(first);
    expect(queue.oldest()).toBe(writes[0]);
    expect(queue.peek(10)).toEqual([...writes, newer]);
  });

  it('push() puts a write older than the newest queued in its place by seq (a write sent again)', () => {
    const queue = new WriteQueue();
    const [a, b, c] = [set('a'), set('b'), set('c')];
    queue.push(a);
    queue.push(c);
    queue.push(b);
    expect(queue.peek(10)).toEqual([a, b, c]);
    expect(queue.oldest()).toBe(a);
  });

  it('push() of many older writes, one by one in any order, keeps the queue in seq order', () => {
    const queue = new WriteQueue();
    const sent = Array.from({ length: 1_000 }, (_, i) => set(`sent${i}`)); // a batch that timed out
    const queued = Array.from({ length: 20_000 }, (_, i) => set(`k${i}`));
    for (const write of queued) queue.push(write);
    queue.push(set('k5')); // replaces a queued write: a stale slot stays in the array
    queue.take(100); // the front consumed
    const shuffled = [...sent].sort((a, b) => ((a.seq * 7919) % 1_000) - ((b.seq * 7919) % 1_000));
    for (const write of shuffled) queue.push(write); // re-sent one by one, as follow-ups fall due
    const all = queue.peek(Infinity);
    expect(all).toHaveLength(1_000 + 20_000 - 100);
    expect(all.slice(0, 1_000)).toEqual(sent);
    expect(all.every((write, i) => i === 0 || all[i - 1]!.seq < write.seq)).toBe(true);
    expect(queue.oldest()).toBe(sent[0]);
  });

  it('stays bounded when one key is replaced 200,000 times while nothing is taken', () => {
    const queue = new WriteQueue();
    queue.push(set('other'));
    let last: PendingWrite | undefined;
    for (let i = 0; i < 200_000; i++) {
      last = set('hot');
      queue.push(last);
    }
    expect(queue.size).toBe(2);
    // Stale slots are compacted away: the backing array holds a few thousand slots at most.
    expect((queue as unknown as { order: unknown[] }).order.length).toBeLessThan(3_000);
    expect(queue.take(5).map((write) => write.key)).toEqual(['other', 'hot']);
    expect(queue.size).toBe(0);
    expect(last?.key).toBe('hot');
  });
});
