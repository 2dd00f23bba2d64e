import { applyD1Migrations } from 'cloudflare:test'
import { env } from 'cloudflare:workers'

// Applies migrations/ to the test database; idempotent, so every test file can run it.
await applyD1Migrations(env.DB as D1Database, env.TEST_MIGRATIONS)
