/** Injection token of the default cache's `L2Store`. */
export const L2_STORE = Symbol('distributed-cache:l2-store');
/** Logger context of every line this library logs. */
export const LOGGER_CONTEXT = 'DistributedCache';
