import { setTimeout as sleep } from 'node:timers/promises';
import { ABSENT_VERSION } from '../../../lib/keys/version-keys.js';
import { KnownVersions } from '../../../lib/tiering/known-versions.js';

describe('KnownVersions.note', () => {
  const versions = (trustMs = 10_000): KnownVersions =>
    new KnownVersions({ ensure: () => Promise.resolve([]) }, 'ns', trustMs);

  it('confirms the version answer of one batched read once, and a later read of it again', async () => {
    const known = versions();
    const key = known.namespaceKey;
    // One MGET answers every read in it with the same Buffer.
    const answer = Buffer.from('token-1');
    const startedAt = performance.now();
    expect(known.note(key, answer, startedAt)).toBe('token-1');
    const confirmedAt = known.knownOf(key).confirmedAt;
    expect(known.knownOf(key).token).toBe('token-1');
    await sleep(5);
    expect(known.note(key, answer, startedAt + 1)).toBe('token-1');
    expect(known.knownOf(key).confirmedAt).toBe(confirmedAt);
    // Another answer (the next MGET), even of the same bytes, confirms again.
    expect(known.note(key, Buffer.from('token-1'), performance.now())).toBe('token-1');
    expect(known.knownOf(key).confirmedAt).toBeGreaterThan(confirmedAt);
  });

  it('confirms again a store that hands out one Buffer for every read, once 100 ms passed', async () => {
    const known = versions();
    const key = known.namespaceKey;
    const answer = Buffer.from('token-1');
    known.note(key, answer, performance.now());
    const confirmedAt = known.knownOf(key).confirmedAt;
    await sleep(150);
    expect(known.note(key, answer, performance.now())).toBe('token-1');
    // Confirmed anew: the token stays trusted (see trustMs) while reads keep seeing it.
    expect(known.knownOf(key).confirmedAt).toBeGreaterThan(confirmedAt);
  });

  it('answers a bump of this instance whose write has not landed, whatever L2 answers', () => {
    const known = versions();
    const key = known.namespaceKey;
    known.note(key, Buffer.from('old'), performance.now());
    known.setNamespace({ token: 'bumped', at: performance.now(), confirmedAt: Date.now() });
    known.bumped(key, 'bumped');
    expect(known.note(key, Buffer.from('old'), performance.now())).toBe('bumped');
  });
});

describe('KnownVersions tag tokens', () => {
  const token = (name: string) => ({ token: name, at: performance.now(), confirmedAt: Date.now() });
  const versions = (tagCapacity?: number): KnownVersions =>
    new KnownVersions({ ensure: () => Promise.resolve([]) }, 'ns', 10_000, tagCapacity);

  it('forgets the least recently used tag once it knows more than its capacity', () => {
    const known = versions(3);
    for (const tag of ['a', 'b', 'c']) known.setTag(tag, token(`t-${tag}`));
    expect(known.tag('a')?.token).toBe('t-a'); // used: now the most recent
    known.setTag('d', token('t-d'));
    expect(known.tag('b')).toBeUndefined();
    expect(['a', 'c', 'd'].map((tag) => known.tag(tag)?.token)).toEqual(['t-a', 't-c', 't-d']);
    expect(known.knownOf(known.tagKey('b')).token).toBe(ABSENT_VERSION); // read from L2 again
  });

  it('remembers 100,000 tags by default, one count each', () => {
    const known = versions();
    for (let i = 0; i <= 100_000; i++) known.setTag(`tag-${i}`, token(`t-${i}`));
    expect(known.tag('tag-0')).toBeUndefined(); // the 100,001st forgot the oldest
    expect(known.tag('tag-1')?.token).toBe('t-1');
    expect(known.tag('tag-100000')?.token).toBe('t-100000');
  });
});
