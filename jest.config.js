/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/__tests__"],
  testMatch: ["**/*.test.ts"],
  transform: {
    "^.+\\.tsx?$": ["ts-jest", { diagnostics: false }],
  },
  globalSetup: "<rootDir>/test-support/global-setup.ts",
  globalTeardown: "<rootDir>/test-support/global-teardown.ts",
  setupFilesAfterEnv: ["<rootDir>/test-support/setup.ts"],
  testTimeout: 60000,
  testSequencer: "<rootDir>/test-support/sequencer.js",
  // Most of the slow suites wait on child processes (terraform, moto, the bundle): more workers than
  // cores keeps both cores busy (measured: see docs/testing.md).
  maxWorkers: 3,
};
