/**
 * Base class of every error this library throws. Catch `CacheError` to handle all of them.
 * The original error, when there is one, is kept as `cause`.
 */
export class CacheError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
