// Module hooks that make the packages named in HIDE_PACKAGES (comma-separated) unresolvable,
// as if they were not installed: for the tests of optional peer dependencies.
const hidden = new Set((process.env.HIDE_PACKAGES ?? '').split(',').filter(Boolean));

export async function resolve(specifier, context, nextResolve) {
  if (hidden.has(specifier)) {
    const error = new Error(`Cannot find package '${specifier}' (hidden by the test)`);
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  return nextResolve(specifier, context);
}
