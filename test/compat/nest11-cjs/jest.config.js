// docs/testing.md quotes this file: Jest for a CommonJS app (what `nest new` sets up for Nest 11)
// that tests code using this ESM-only package. The compat run executes it (`npm test`) on
// src/first-cache.spec.ts, the docs' Jest example.
// #region jest-config-cjs
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src'],
  // Jest's CommonJS loader cannot load an ES module (before Node 24.9), so ts-jest compiles
  // nestjs-distributed-cache's dist/ to CommonJS too: node_modules is not transformed otherwise,
  // and ts-jest compiles .js files only with allowJs (merged into tsconfig.json).
  transform: { '^.+\\.(t|j)s$': ['ts-jest', { tsconfig: { allowJs: true } }] },
  transformIgnorePatterns: ['/node_modules/(?!nestjs-distributed-cache/)'],
  // Only when relative imports end in .js (`./first-cache.js` meaning ./first-cache.ts).
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};
// #endregion jest-config-cjs
