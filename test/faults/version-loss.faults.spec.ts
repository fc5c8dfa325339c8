import type { Subscription } from 'rxjs';
import type { CacheStatsSnapshot } from '../../lib/events/cache-stats.js';
import type { DistributedCacheModuleOptions } from '../../lib/options/cache-options.interface.js';
import { startCacheApp, type CacheApp } from '../support/cache-app.js';
import { waitFor } from '../support/poll.js';
import { RedisCluster } from '../support/redis-cluster.js';
import { RedisServer } from '../support/redis-server.js';
import { respCommand } from '../support/resp.js';
import { Twemproxy } from '../support/twemproxy.js';

/**
 * Issue 12, part 1b: a lost version key costs at most a round of misses, never the cache.
 *
 * On single Redis, twemproxy (3 shards) and Cluster (3 masters), once `clear()` and
 * `invalidateTags()` have run (so the version keys hold tokens no instance could guess), the
 * version keys are lost: (a) the server holding `${ns}|v` is killed (kill -9) and restarted empty,
 * or (b) the version keys are DELeted by hand, as eviction would. Then a writer that existed before
 * the loss writes 1,000 new keys (half tagged), and every reader must read all of them back, with
 * the right values, within 1 s of the end of the writer's flush: peers that existed before the
 * loss, instances started right after it (before the writes: they re-create the lost key with a
 * repair token first), and instances started after the writes; each with and without L1. The keys
 * are new, so a reader with L1 has to go to L2 for them.
 *
 * The bound on the other side: entries invalidated before the loss (set before `clear()`, or
 * tagged before `invalidateTags()`) stay misses on every instance (a re-created version key never
 * revives them); entries written between the invalidations and the loss may miss, but never read
 * as a wrong value.
 */
const L2_TIMEOUT_MS = 250;
const READ_BACK_MS = 1_000;
const WRITES = 1_000;
const TAG = 'group-a';

type ModuleOptions = DistributedCacheModuleOptions;

interface Topology {
  readonly name: string;
  readonly options: Pick<ModuleOptions, 'l2' | 'invalidation'>;
  /** The server holding `key` (the key exists there). */
  holderOf(key: string): Promise<RedisServer>;
  /** What L2 holds under `key` (`null`: nothing), read past the library. */
  peek(key: string): Promise<string | null>;
  /** Waits until the topology serves again after one of its servers restarted. */
  recovered(): Promise<void>;
  /** Empties every server. */
  flushAll(): Promise<void>;
  stop(): Promise<void>;
}

type Fault = 'kill' | 'del';
type Timeline = 'writer first' | 'new instance first';

interface ReaderResult {
  reader: string;
  /** Milliseconds from the end of the writer's flush until all 1,000 read back; -1: never. */
  ms: number;
  /** The same for the 500 untagged and the 500 tagged keys alone. */
  untaggedMs: number;
  taggedMs: number;
  missed: number;
  /** Of the keys missed at the deadline, how many are tagged. */
  missedTagged: number;
  wrong: number;
  firstMissed: string[];
  /** How many of the entries written before the loss this reader still hits. */
  beforeHits: number;
  stats: Pick<CacheStatsSnapshot, 'l1Hits' | 'l2Hits' | 'misses' | 'l2Errors' | 'breaker'>;
  /** Of the keys read back, how many no longer read back right in a last mget of all 1,000. */
  flippedBack: number;
  /** The first breaker changes and L2 errors the reader reported, with `performance.now()`. */
  events: string[];
}

interface CaseReport {
  scenario: string;
  flushMs: number;
  nsTokenBefore: string | null;
  nsTokenAfter: string | null;
  tagTokenAfter: string | null;
  readers: ReaderResult[];
  phases: string[];
}

const reports: CaseReport[] = [];
const apps: CacheApp[] = [];
const subscriptions: Subscription[] = [];
/** The first breaker changes and L2 errors each instance reported (events$), for diagnosis. */
const eventsSeen = new Map<CacheApp, string[]>();

async function peekAt(port: number, key: string): Promise<string | null> {
  const reply = await respCommand(port, ['GET', key]);
  if (reply !== null && typeof reply !== 'string') {
    throw new Error(`GET ${key} on port ${port} answered ${JSON.stringify(reply)}`);
  }
  return reply;
}

async function singleRedis(): Promise<Topology> {
  const redis = await RedisServer.start();
  return {
    name: 'single Redis',
    options: { l2: { type: 'redis', url: redis.url } },
    holderOf: () => Promise.resolve(redis),
    peek: (key) => peekAt(redis.port, key),
    recovered: () => Promise.resolve(),
    flushAll: async () => {
      await redis.cli('FLUSHALL');
    },
    stop: () => redis.stop(),
  };
}

async function twemproxy(): Promise<Topology> {
  const proxy = await Twemproxy.start({ shards: 3 });
  const bus = await RedisServer.start().catch(async (error: unknown) => {
    await proxy.stop();
    throw error;
  });
  return {
    name: 'twemproxy (3 shards)',
    options: {
      l2: { type: 'twemproxy', host: proxy.host, port: proxy.port },
      invalidation: { url: bus.url },
    },
    holderOf: async (key) => {
      const shard = await proxy.shardOf(key);
      if (shard === undefined) throw new Error(`no shard holds ${key}`);
      return shard;
    },
    peek: (key) => peekAt(proxy.port, key),
    recovered: () => Promise.resolve(),
    flushAll: async () => {
      await Promise.all(proxy.shards.map((shard) => shard.cli('FLUSHALL')));
    },
    stop: async () => {
      await proxy.stop();
      await bus.stop();
    },
  };
}

async function cluster(): Promise<Topology> {
  const redisCluster = await RedisCluster.start();
  const ownerOf = async (key: string): Promise<RedisServer> =>
    redisCluster.ownerOf(await redisCluster.keySlot(key));
  return {
    name: 'Cluster (3 masters)',
    options: { l2: { type: 'cluster', nodes: redisCluster.seeds } },
    holderOf: ownerOf,
    peek: async (key) => peekAt((await ownerOf(key)).port, key),
    // A restarted master refuses commands (CLUSTERDOWN) for ~2 s before it serves its slots again.
    recovered: () => redisCluster.waitUntilReady(10_000),
    flushAll: async () => {
      await Promise.all(redisCluster.nodes.map((node) => node.cli('FLUSHALL')));
    },
    stop: () => redisCluster.stop(),
  };
}

async function instance(options: ModuleOptions): Promise<CacheApp> {
  const app = await startCacheApp({
    l2TimeoutMs: L2_TIMEOUT_MS,
    writeBehind: { retryMaxDelayMs: 200 },
    ...options,
  });
  apps.push(app);
  const seen: string[] = [];
  eventsSeen.set(app, seen);
  subscriptions.push(
    app.cache.events$.subscribe((event) => {
      if (seen.length >= 8) return;
      const at = `@${Math.round(performance.now())}`;
      if (event.type === 'breaker') seen.push(`breaker ${event.state} ${at}`);
      if (event.type === 'error' || event.type === 'flush-error') {
        const error: unknown = event.error;
        const message = error instanceof Error ? error.message : String(error);
        seen.push(`${event.type === 'error' ? event.operation : 'flush'} ${at}: ${message}`);
      }
    }),
  );
  return app;
}

function valueOf(prefix: string, i: number): { k: string; i: number } {
  return { k: prefix, i };
}

function isValueOf(prefix: string, i: number, value: unknown): boolean {
  return JSON.stringify(value) === JSON.stringify(valueOf(prefix, i));
}

/** Which of the keys `write(..., tagged: true)` tags: every other one. */
function isTagged(i: number): boolean {
  return i % 2 === 1;
}

function keysOf(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}:${i}`);
}

/** Sets `keys` (every other one tagged with TAG when `tagged`) and waits until L2 has them. */
async function write(app: CacheApp, prefix: string, keys: readonly string[], tagged: boolean) {
  await Promise.all(
    keys.map((key, i) =>
      app.cache.set(key, valueOf(prefix, i), tagged && isTagged(i) ? { tags: [TAG] } : undefined),
    ),
  );
  await app.cache.flush(10_000);
}

/**
 * Polls `app` with an mget of the keys not read back right yet (all of them the first time) until
 * none is left or `deadline` passes, and says how long it took from `since`.
 */
async function readBack(
  label: string,
  app: CacheApp,
  keys: readonly string[],
  prefix: string,
  since: number,
  deadline: number,
): Promise<ReaderResult> {
  let outstanding = keys.map((key, i) => ({ key, i }));
  let wrong = 0;
  let untaggedMs = -1;
  let taggedMs = -1;
  try {
    await waitFor(
      async () => {
        const values = await app.cache.mget(outstanding.map(({ key }) => key));
        wrong = values.filter(
          (v, j) => v !== undefined && !isValueOf(prefix, outstanding[j]!.i, v),
        ).length;
        outstanding = outstanding.filter(({ i }, j) => !isValueOf(prefix, i, values[j]));
        const now = Math.round(performance.now() - since);
        if (untaggedMs < 0 && !outstanding.some(({ i }) => !isTagged(i))) untaggedMs = now;
        if (taggedMs < 0 && !outstanding.some(({ i }) => isTagged(i))) taggedMs = now;
        return outstanding.length === 0;
      },
      { timeoutMs: Math.max(0, deadline - performance.now()), intervalMs: 25 },
    );
  } catch {
    // Reported below, key by key.
  }
  const { l1Hits, l2Hits, misses, l2Errors, breaker } = app.cache.stats();
  return {
    reader: label,
    ms: outstanding.length === 0 ? Math.max(untaggedMs, taggedMs) : -1,
    untaggedMs,
    taggedMs,
    missed: outstanding.length,
    missedTagged: outstanding.filter(({ i }) => isTagged(i)).length,
    wrong,
    firstMissed: outstanding.slice(0, 5).map(({ key }) => key),
    flippedBack: 0,
    beforeHits: -1,
    stats: { l1Hits, l2Hits, misses, l2Errors, breaker },
    events: eventsSeen.get(app) ?? [],
  };
}

/** One case: invalidations, the loss, 1,000 writes, read-back by every kind of reader. */
async function lostVersionKey(topology: Topology, fault: Fault, timeline: Timeline) {
  const namespace = `vloss-${topology.name.split(' ')[0]!.toLowerCase()}-${fault}-${
    timeline === 'writer first' ? 'w' : 'n'
  }`;
  const scenario = `${topology.name}: ${fault === 'kill' ? 'kill -9 + restart' : 'DEL'}, ${timeline}`;
  const nsKey = `${namespace}|v`;
  const tagKey = `${namespace}|t:${TAG}`;
  const base: ModuleOptions = { namespace, ...topology.options };

  const writer = await instance(base);
  const peers: Array<[string, CacheApp]> = [
    ['peer (no L1)', await instance({ ...base, l1: false })],
    ['peer (L1)', await instance(base)],
  ];
  const initialToken = await topology.peek(nsKey);

  // Entries invalidated before the loss: by clear(), and by invalidateTags().
  const cleared = keysOf('cleared', 50);
  await write(writer, 'cleared', cleared, true);
  await writer.cache.clear();
  const untagged = keysOf('untagged-before-tags', 50);
  const invalidated = keysOf('tag-invalidated', 50);
  await write(writer, 'untagged-before-tags', untagged, false);
  await Promise.all(
    invalidated.map((key, i) =>
      writer.cache.set(key, valueOf('tag-invalidated', i), { tags: [TAG] }),
    ),
  );
  await writer.cache.flush(10_000);
  await writer.cache.invalidateTags([TAG]);
  // Entries valid at the loss: they may read as misses afterwards, never as a wrong value.
  const before = keysOf('before', 100);
  await write(writer, 'before', before, true);

  const nsTokenBefore = await topology.peek(nsKey);
  const tagTokenBefore = await topology.peek(tagKey);
  // clear() and invalidateTags() wrote tokens of their own (not repair tokens).
  expect({
    initialToken: typeof initialToken,
    nsTokenBefore: typeof nsTokenBefore,
    tagTokenBefore: typeof tagTokenBefore,
    nsChangedByClear: nsTokenBefore !== initialToken,
    repairTokens: [nsTokenBefore, tagTokenBefore].filter((token) => token?.startsWith('~')),
  }).toEqual({
    initialToken: 'string',
    nsTokenBefore: 'string',
    tagTokenBefore: 'string',
    nsChangedByClear: true,
    repairTokens: [],
  });
  expect(await writer.cache.get(untagged[0]!)).toEqual(valueOf('untagged-before-tags', 0));
  // The peers learn the tokens (and the tags of `before`) the way serving traffic would.
  for (const [, peer] of peers) {
    expect((await peer.cache.mget(before)).filter((value) => value === undefined)).toEqual([]);
  }

  // The loss.
  const phases: string[] = [`loss @${Math.round(performance.now())}`];
  if (fault === 'kill') {
    const holder = await topology.holderOf(nsKey);
    const tagKeyLost = (await topology.holderOf(tagKey)) === holder;
    phases.push(`tag key ${tagKeyLost ? 'on the same server (lost too)' : 'elsewhere (kept)'}`);
    await holder.kill();
    await holder.restart();
    phases.push(`restarted @${Math.round(performance.now())}`);
    await topology.recovered();
    phases.push(`recovered @${Math.round(performance.now())}`);
    expect(await holder.cli('DBSIZE')).toBe('0');
  } else {
    for (const key of [nsKey, tagKey]) {
      const holder = await topology.holderOf(key);
      expect(await holder.cli('DEL', key)).toBe('1');
    }
  }

  const early: Array<[string, CacheApp]> = [];
  if (timeline === 'new instance first') {
    early.push(
      ['new before writes (no L1)', await instance({ ...base, l1: false })],
      ['new before writes (L1)', await instance(base)],
    );
    // They serve traffic at once: reads of the entries written before the loss.
    for (const [, app] of early) await app.cache.mget([...before, ...untagged]);
  }

  // 1,000 writes of new keys after the loss, half tagged, from the writer that knew the tokens.
  const fresh = keysOf('after', WRITES);
  const writeStarted = performance.now();
  await write(writer, 'after', fresh, true);
  const flushedAt = performance.now();
  phases.push(`writes started @${Math.round(writeStarted)} flushed @${Math.round(flushedAt)}`);
  const deadline = flushedAt + READ_BACK_MS;

  const late = await Promise.all([instance({ ...base, l1: false }), instance(base)]);
  const readers: Array<[string, CacheApp]> = [
    ...peers,
    ...early,
    ['new after writes (no L1)', late[0]],
    ['new after writes (L1)', late[1]],
  ];
  const results = await Promise.all(
    readers.map(([label, app]) => readBack(label, app, fresh, 'after', flushedAt, deadline)),
  );

  // Nothing read back goes missing again; invalidated entries stay misses everywhere; entries
  // valid at the loss are hits with the right value or misses.
  const revived: string[] = [];
  const wrongBefore: string[] = [];
  const gone = [...cleared, ...invalidated];
  for (const [label, app] of [['writer', writer] as [string, CacheApp], ...readers]) {
    const values = await app.cache.mget(gone);
    gone.forEach((key, j) => {
      if (values[j] !== undefined) revived.push(`${label}: ${key}`);
    });
  }
  for (const [i, [label, app]] of readers.entries()) {
    const result = results[i]!;
    const again = await app.cache.mget(fresh);
    result.flippedBack =
      result.ms < 0 ? 0 : again.filter((value, j) => !isValueOf('after', j, value)).length;
    const beforeValues = await app.cache.mget(before);
    result.beforeHits = beforeValues.filter((value) => value !== undefined).length;
    beforeValues.forEach((value, j) => {
      if (value !== undefined && !isValueOf('before', j, value)) {
        wrongBefore.push(`${label}: ${before[j]!}`);
      }
    });
  }

  const report: CaseReport = {
    scenario,
    flushMs: Math.round(flushedAt - writeStarted),
    nsTokenBefore,
    nsTokenAfter: await topology.peek(nsKey),
    tagTokenAfter: await topology.peek(tagKey),
    readers: results,
    phases,
  };
  reports.push(report);

  // Untagged first: they need only the namespace version key that was lost.
  expect({
    scenario,
    untaggedNotReadBackWithin1s: results.filter((r) => r.untaggedMs < 0).map((r) => r.reader),
  }).toEqual({ scenario, untaggedNotReadBackWithin1s: [] });
  const failed = results.filter((r) => r.ms < 0 || r.wrong > 0 || r.flippedBack > 0);
  expect({
    scenario,
    notReadBackWithin1s: failed,
    ...(failed.length > 0 && {
      phases,
      nsToken: `${String(report.nsTokenBefore)} -> ${String(report.nsTokenAfter)}`,
      tagTokenAfter: report.tagTokenAfter,
      readBackBy: results.filter((r) => !failed.includes(r)).map((r) => `${r.reader}: ${r.ms} ms`),
    }),
  }).toEqual({ scenario, notReadBackWithin1s: [] });
  expect({ scenario, revived, wrongBefore }).toEqual({ scenario, revived: [], wrongBefore: [] });
  expect(report.nsTokenAfter).toEqual(expect.any(String));
}

function printCaseReports(): void {
  const ms = (value: number): string => (value < 0 ? 'never' : String(value));
  const rows = reports.flatMap((report) =>
    report.readers.map(
      (r) =>
        `| ${report.scenario} | ${report.flushMs} | ${r.reader} | ${ms(r.untaggedMs)} | ` +
        `${ms(r.taggedMs)} | ${r.missed} (${r.missedTagged} tagged) | ${r.stats.breaker} | ` +
        `${r.beforeHits}/100 | ${report.nsTokenBefore} -> ${report.nsTokenAfter} |`,
    ),
  );
  console.log(
    'Lost version keys: 1,000 writes after the loss read back (ms from the end of the flush; ' +
      'deadline 1,000)\n' +
      '| scenario | writer flush ms | reader | 500 untagged read back | 500 tagged read back | ' +
      'missed at deadline | breaker | before-loss entries hit | `ns|v` before -> after |\n' +
      '|---|---|---|---|---|---|---|---|---|\n' +
      rows.join('\n'),
  );
}

afterAll(() => {
  printCaseReports();
});

const cases: Array<[Fault, Timeline]> = [
  ['kill', 'writer first'],
  ['kill', 'new instance first'],
  ['del', 'writer first'],
  ['del', 'new instance first'],
];

describe.each([
  ['single Redis', singleRedis],
  ['twemproxy (3 shards)', twemproxy],
  ['Cluster (3 masters)', cluster],
])('CacheService on %s after a lost version key', (_name, start) => {
  let topology: Topology;

  beforeAll(async () => {
    topology = await start();
  });

  afterEach(async () => {
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    eventsSeen.clear();
    await Promise.all(apps.splice(0).map((app) => app.close()));
    await topology.flushAll();
  });

  afterAll(async () => {
    await topology?.stop();
  });

  it.each(cases)(
    'reads back 1,000 writes made after the loss on every instance within 1 s (%s, %s)',
    async (fault, timeline) => {
      await lostVersionKey(topology, fault, timeline);
    },
  );
});
