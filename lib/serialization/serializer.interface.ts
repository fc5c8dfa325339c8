/**
 * Turns values into bytes for L2 and back. `serialize` throws for a value it cannot encode
 * exactly; `deserialize` throws for a payload it cannot decode. Both errors are caught by the
 * cache and reported (a failed `set` rejects with `CacheSerializationError`; a bad payload
 * reads as a miss).
 */
export interface CacheSerializer {
  serialize(value: unknown): Buffer;
  deserialize(payload: Buffer): unknown;
}
