// docs/testing.md quotes this file: Jest for an ESM TypeScript app. The compat run executes it
// (`npm test`) on src/first-cache.spec.ts, the docs' Jest example.
// #region jest-config
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/src'],
  // .ts files are ES modules, compiled by ts-jest (Jest runs under --experimental-vm-modules).
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
  // `import ... from './first-cache.js'` in a .ts file means ./first-cache.ts.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};
// #endregion jest-config
