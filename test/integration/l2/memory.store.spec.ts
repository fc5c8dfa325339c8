import { MemoryStore } from '../../../lib/l2/memory/memory.store.js';
import { describeL2StoreContract } from '../../contract/l2-store.contract.js';

describeL2StoreContract('MemoryStore', async () => {
  const store = new MemoryStore();
  return { store, cleanup: () => store.close() };
});

describeL2StoreContract('MemoryStore with a 10 ms sweep', async () => {
  const store = new MemoryStore({ sweepIntervalMs: 10, sweepBatchSize: 100 });
  return { store, cleanup: () => store.close() };
});
