import { cloudflareTest } from '@cloudflare/vitest-pool-workers'
import { defineConfig } from 'vitest/config'
import { EMULATOR_HOST, emulatorNetwork } from './test/emulator-network'

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        // Deployed-Worker settings (no LOCAL_DEV), pointed at the emulator.
        bindings: {
          JWT_SECRET: 'test-jwt-secret-that-is-at-least-32-bytes-long',
          PLAID_CLIENT_ID: 'test-client',
          PLAID_SECRET: 'emulator-secret',
          PLAID_BASE_URL: `http://${EMULATOR_HOST}`,
          PLAID_TIMEOUT_MS: '2000',
          ALLOWED_ORIGINS: 'https://app.example.com',
        },
        outboundService: emulatorNetwork(),
      },
    }),
  ],
  test: {
    include: ['test/**/*.test.ts'],
    silent: 'passed-only',
    // The JSON report is what .ci/run counts; the default reporter is for people.
    reporters: ['default', ['json', { outputFile: '.contract/vitest-report.json' }]],
  },
})
