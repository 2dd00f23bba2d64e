import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers'
import { defineConfig } from 'vitest/config'
import { EMULATOR_SECRET } from './src/dev-defaults'
import { EMULATOR_HOST, emulatorNetwork, quietExpectedReports } from './test/support/emulator-network'

const migrations = await readD1Migrations('./migrations')
// The emulator's dropped-connection faults would each print five lines of workerd stack dumps, and
// errors the user's object throws to the Worker by design one stack each.
quietExpectedReports()

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        // Deployed-Worker settings (no LOCAL_DEV), pointed at the emulator.
        bindings: {
          JWT_SECRET: 'test-jwt-secret-that-is-at-least-32-bytes-long',
          PLAID_CLIENT_ID: 'test-client',
          PLAID_SECRET: EMULATOR_SECRET,
          PLAID_BASE_URL: `http://${EMULATOR_HOST}`,
          PLAID_TIMEOUT_MS: '2000',
          ALLOWED_ORIGINS: 'https://app.example.com',
          TOKEN_ENCRYPTION_KEY: 'dGVzdC1rZXktZm9yLWFjY2Vzcy10b2tlbi1zZWFsISE=',
          PLAID_CLIENT_USER_ID_KEY: 'dGVzdC1rZXktZm9yLXBsYWlkLWNsaWVudC11c2VyaWQ=',
          TEST_MIGRATIONS: migrations,
        },
        outboundService: emulatorNetwork(),
      },
    }),
  ],
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['./test/setup.ts'],
    silent: 'passed-only',
    // No test waits on the clock to pass (timing lives in the benchmarks); this only bounds a test
    // that hangs. vitest's 5 s default is within reach of bounded tests on a loaded 2-core machine.
    testTimeout: 30_000,
    // The JSON report is what .ci/run counts; the default reporter is for people.
    reporters: ['default', ['json', { outputFile: '.contract/vitest-report.json' }]],
  },
})
