import {
  EXTRA_BIN_DIRS,
  findBinary,
  INSTALL_COMMAND,
  type RequiredBinary,
} from './global-setup.js';

export { findBinary, type RequiredBinary } from './global-setup.js';

/**
 * Absolute path of `name` (see {@link findBinary}), or an error that says how to install it.
 * @throws Error when `name` is not installed.
 */
export function requireBinary(name: RequiredBinary): string {
  const found = findBinary(name);
  if (found === undefined) {
    throw new Error(
      `${name} is not installed (searched PATH and ${EXTRA_BIN_DIRS.join(', ')}); ` +
        `install with: ${INSTALL_COMMAND}`,
    );
  }
  return found;
}
