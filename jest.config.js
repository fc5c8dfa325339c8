/**
 * Jest runs in native ESM mode (`node --experimental-vm-modules`), TypeScript through ts-jest.
 * Tests that talk to Redis start their own servers (test/support); global-setup checks that the
 * binaries exist and fails the run loudly when they do not.
 * @type {import('jest').Config}
 */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  roots: ['<rootDir>/test', '<rootDir>/sample-app/src'],
  testMatch: ['**/*.spec.ts'],
  moduleNameMapper: {
    '^nestjs-distributed-cache$': '<rootDir>/lib/index.ts',
    '^nestjs-distributed-cache/(metrics|health|http|testing|stores)$': '<rootDir>/lib/$1/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.json' }],
  },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  // Two cores here: each worker may run several redis-server processes of its own.
  maxWorkers: 2,
  testTimeout: 30_000,
  // A leaked socket or timer is a bug (connections must close on shutdown).
  detectOpenHandles: false,
  forceExit: false,
};
