// One Jest run for the whole monorepo: unit specs next to the code, integration tests under test/.
const swcrc = JSON.parse(require('node:fs').readFileSync(`${__dirname}/.swcrc`, 'utf8'));
delete swcrc.exclude;
swcrc.jsc.baseUrl = __dirname;
swcrc.swcrc = false;

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/tools', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.test.ts'],
  // NestJS 12 ships ES modules only; Jest's CommonJS runtime needs them transformed too.
  transform: { '^.+\\.(t|j|mj)s$': ['@swc/jest', swcrc] },
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs|@nats-io|jose)/)'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  // A safety net, not a habit: if a test ever leaks a handle (a child's pipe, a socket), the run still ends
  // and reports instead of hanging CI until its time limit. Children are killed on exit (ServiceProcess).
  forceExit: true,
};
