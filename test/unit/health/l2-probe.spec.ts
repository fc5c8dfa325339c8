import { CacheL2Error, CacheL2TimeoutError } from '../../../lib/errors/l2.errors.js';
import { probeKeyOf, probeL2 } from '../../../lib/health/l2-probe.js';
import type { L2Store } from '../../../lib/contracts/l2-store.interface.js';
import { MemoryStore } from '../../../lib/l2/memory/memory.store.js';
import { ChaosStore } from '../../support/chaos-store.js';

describe('probeL2()', () => {
  it('round-trips a key under the namespace through a store without healthCheck()', async () => {
    const memory = new MemoryStore();
    const chaos = new ChaosStore(memory);
    const key = probeKeyOf('shop', 'instance-1');
    expect(key).toBe('shop|h:instance-1');
    await probeL2(chaos, key, 1_000);
    expect(chaos.writtenKeys()).toEqual([`set:${key}`]);
    expect(await memory.get(key)).toBeInstanceOf(Buffer);
    await memory.close();
  });

  it("uses the store's own healthCheck() when it has one", async () => {
    let checks = 0;
    const store = {
      description: 'fake',
      healthCheck: () => {
        checks++;
        return Promise.resolve();
      },
    } as unknown as L2Store;
    await probeL2(store, 'k|h:1', 1_000);
    expect(checks).toBe(1);
  });

  it('fails with CacheL2Error when the store fails', async () => {
    const chaos = new ChaosStore(new MemoryStore());
    chaos.failAlways();
    await expect(probeL2(chaos, 'n|h:1', 1_000)).rejects.toThrow(CacheL2Error);
    await chaos.close();
  });

  it('fails with CacheL2TimeoutError when the store hangs longer than the timeout', async () => {
    const chaos = new ChaosStore(new MemoryStore());
    chaos.stall();
    await expect(probeL2(chaos, 'n|h:1', 30)).rejects.toThrow(CacheL2TimeoutError);
    await chaos.close();
  });

  it('fails when the value read back is not the one written', async () => {
    const memory = new MemoryStore();
    const lying = Object.assign(Object.create(memory) as L2Store, {
      get: () => Promise.resolve(Buffer.from('stale')),
    });
    await expect(probeL2(lying, 'n|h:1', 1_000)).rejects.toThrow(/read back another value/);
    await memory.close();
  });
});
