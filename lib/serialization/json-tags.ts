/** The tagged mode of the JSON payload format (see json.serializer.ts): how special values are written. */

/** Own key that marks a tagged node in the tagged mode. */
export const TAG = '$t';

/** Tags of the tagged mode. Full names: a tagged payload stays readable in `redis-cli`. */
export const Tag = {
  Undefined: 'undefined',
  Hole: 'hole',
  Number: 'number',
  BigInt: 'bigint',
  Date: 'Date',
  Map: 'Map',
  Set: 'Set',
  Buffer: 'Buffer',
  Uint8Array: 'Uint8Array',
  /** A plain object that has an own `$t` key: its keys are data, not a tag. */
  Object: 'Object',
  /** A plain object created with `Object.create(null)`. */
  NullProto: 'NullProto',
} as const;
export type Tag = (typeof Tag)[keyof typeof Tag];
