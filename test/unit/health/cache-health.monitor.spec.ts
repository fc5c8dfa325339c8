import type { CacheBreakerState } from '../../../lib/metrics/cache-metrics.js';
import {
  type CacheHealthSources,
  CacheHealthMonitor,
} from '../../../lib/health/cache-health.monitor.js';
import { resolveHealthOptions } from '../../../lib/health/health-options.interface.js';

/** A monitor over fake sources and a hand-moved clock. */
function setup(
  options: Parameters<typeof resolveHealthOptions>[0] = {},
  onChange?: (report: ReturnType<CacheHealthMonitor['report']>) => void,
) {
  const state = {
    now: 1_000_000,
    probeFails: false,
    pending: 0,
    maxPending: 100,
    bus: true as boolean | null,
    breaker: 'closed' as CacheBreakerState,
    probes: 0,
    replicas: null as { required: number; confirmed: number; timeouts: number } | null,
  };
  const sources: CacheHealthSources = {
    namespace: 'shop',
    probe: () => {
      state.probes++;
      return state.probeFails ? Promise.reject(new Error('L2 get timed out')) : Promise.resolve();
    },
    queue: () => ({ pending: state.pending, maxPending: state.maxPending }),
    busConnected: () => state.bus,
    breaker: () => state.breaker,
    replicas: () => state.replicas && { ...state.replicas },
  };
  const monitor = new CacheHealthMonitor(
    sources,
    resolveHealthOptions({ downAfterMs: 5_000, ...options }),
    () => state.now,
    onChange,
  );
  return { state, monitor };
}

describe('CacheHealthMonitor', () => {
  describe('report()', () => {
    it('is up with L2 reachable before any probe ran', () => {
      const { monitor } = setup();
      expect(monitor.report()).toMatchObject({
        status: 'up',
        reasons: [],
        namespace: 'shop',
        l2: { reachable: true, unreachableForMs: 0, consecutiveFailures: 0 },
        bus: 'connected',
        queue: { pending: 0, maxPending: 100, utilization: 0 },
        breaker: 'closed',
      });
    });

    it('stays up after one failed probe, reporting L2 unreachable', async () => {
      const { state, monitor } = setup();
      state.probeFails = true;
      await monitor.probeNow();
      state.now += 1_000;
      const report = monitor.report();
      expect(report.status).toBe('up');
      expect(report.l2).toMatchObject({
        reachable: false,
        unreachableForMs: 1_000,
        consecutiveFailures: 1,
        lastError: 'L2 get timed out',
      });
      expect(report.l2.unreachableSince).toBe(new Date(1_000_000).toISOString());
    });

    it('turns down once L2 has been unreachable for downAfterMs, naming the reason', async () => {
      const { state, monitor } = setup();
      state.probeFails = true;
      await monitor.probeNow();
      state.now += 4_999;
      await monitor.probeNow();
      expect(monitor.report().status).toBe('up');
      state.now += 1;
      const report = monitor.report();
      expect(report.status).toBe('down');
      expect(report.reasons).toEqual(['L2 unreachable for 5000 ms (downAfterMs 5000)']);
      expect(report.l2.consecutiveFailures).toBe(2);
    });

    it('is up again after the first successful probe', async () => {
      const { state, monitor } = setup();
      state.probeFails = true;
      await monitor.probeNow();
      state.now += 10_000;
      expect(monitor.report().status).toBe('down');
      state.probeFails = false;
      await monitor.probeNow();
      const report = monitor.report();
      expect(report.status).toBe('up');
      expect(report.l2).toMatchObject({
        reachable: true,
        unreachableForMs: 0,
        consecutiveFailures: 0,
      });
      expect(report.l2.lastError).toBeUndefined();
    });

    it('a success between failures restarts the unreachable clock', async () => {
      const { state, monitor } = setup();
      state.probeFails = true;
      await monitor.probeNow();
      state.now += 4_000;
      state.probeFails = false;
      await monitor.probeNow();
      state.probeFails = true;
      await monitor.probeNow();
      state.now += 4_000;
      expect(monitor.report()).toMatchObject({ status: 'up', l2: { unreachableForMs: 4_000 } });
    });

    it('turns down when the write-behind queue stayed full for downAfterMs', () => {
      const { state, monitor } = setup();
      state.pending = 100;
      expect(monitor.report()).toMatchObject({ status: 'up', queue: { utilization: 1 } });
      state.now += 5_000;
      expect(monitor.report().status).toBe('down');
      expect(monitor.report().reasons[0]).toMatch(
        /write-behind queue at or above 100 % of maxPending/,
      );
      state.pending = 10;
      expect(monitor.report().status).toBe('up');
    });

    it('ignores the queue with maxQueueUtilization: false', () => {
      const { state, monitor } = setup({ maxQueueUtilization: false });
      state.pending = 100;
      monitor.report();
      state.now += 60_000;
      expect(monitor.report().status).toBe('up');
    });

    it('reports a disconnected bus, and turns down for it only with requireBus', () => {
      const lenient = setup();
      lenient.state.bus = false;
      lenient.monitor.report();
      lenient.state.now += 60_000;
      expect(lenient.monitor.report()).toMatchObject({ status: 'up', bus: 'disconnected' });

      const strict = setup({ requireBus: true });
      strict.state.bus = false;
      strict.monitor.report();
      strict.state.now += 5_000;
      expect(strict.monitor.report()).toMatchObject({ status: 'down', bus: 'disconnected' });
    });

    it('turns down when write batches keep timing out on replicas, and up at the next confirmed batch', () => {
      const { state, monitor } = setup();
      expect(monitor.report().replicas).toBe('disabled');
      state.replicas = { required: 1, confirmed: 10, timeouts: 0 };
      monitor.report();
      state.replicas.timeouts = 1; // a batch timed out, none confirmed since
      state.now += 1_000;
      expect(monitor.report()).toMatchObject({
        status: 'up',
        replicas: { required: 1, confirmedBatches: 10, timeouts: 1, timingOutForMs: 0 },
      });
      state.replicas.timeouts = 6;
      state.now += 5_000;
      const down = monitor.report();
      expect(down.status).toBe('down');
      expect(down.reasons).toEqual([
        'write batches not confirmed by 1 replica(s) for 5000 ms (writeBehind.replicas): they stay pending',
      ]);
      // No batch finished since: still down (an idle cache keeps its state).
      state.now += 1_000;
      expect(monitor.report().status).toBe('down');
      state.replicas.confirmed = 11;
      state.now += 1_000;
      expect(monitor.report()).toMatchObject({ status: 'up', replicas: { timingOutForMs: 0 } });
    });

    it('reports the bus as disabled and passes the breaker state through', () => {
      const { state, monitor } = setup({ requireBus: true });
      state.bus = null;
      state.breaker = 'open';
      state.now += 60_000;
      expect(monitor.report()).toMatchObject({ status: 'up', bus: 'disabled', breaker: 'open' });
    });
  });

  describe('probeNow()', () => {
    it('announces each status change once, not each probe', async () => {
      const changes: string[] = [];
      const { state, monitor } = setup({}, (report) =>
        changes.push(
          `${report.status}${report.reasons.length > 0 ? `: ${report.reasons[0]}` : ''}`,
        ),
      );
      await monitor.probeNow();
      state.probeFails = true;
      for (let i = 0; i < 4; i++) {
        await monitor.probeNow();
        state.now += 2_000;
      }
      state.probeFails = false;
      await monitor.probeNow();
      await monitor.probeNow();
      expect(changes).toEqual(['down: L2 unreachable for 6000 ms (downAfterMs 5000)', 'up']);
    });
  });

  describe('start()', () => {
    it('probes at once, then every probeIntervalMs, until stop()', async () => {
      const { state, monitor } = setup({ probeIntervalMs: 20 });
      monitor.start();
      monitor.start();
      const deadline = Date.now() + 2_000;
      while (state.probes < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      monitor.stop();
      expect(state.probes).toBeGreaterThanOrEqual(3);
      const stoppedAt = state.probes;
      await new Promise((r) => setTimeout(r, 60));
      expect(state.probes).toBeLessThanOrEqual(stoppedAt + 1);
    });
  });
});

describe('resolveHealthOptions()', () => {
  it('applies the defaults', () => {
    expect(resolveHealthOptions({})).toEqual({
      downAfterMs: 10_000,
      probeIntervalMs: 2_000,
      probeTimeoutMs: 1_000,
      maxQueueUtilization: 1,
      requireBus: false,
    });
  });

  it.each([
    [{ downAfterMs: -1 }, 'health.downAfterMs'],
    [{ probeIntervalMs: 0 }, 'health.probeIntervalMs'],
    [{ probeTimeoutMs: Number.NaN }, 'health.probeTimeoutMs'],
    [{ maxQueueUtilization: 1.5 }, 'health.maxQueueUtilization'],
    [{ maxQueueUtilization: 0 }, 'health.maxQueueUtilization'],
  ])('refuses %j, naming the option', (options, option) => {
    expect(() => resolveHealthOptions(options)).toThrow(expect.objectContaining({ option }));
  });
});
