import { describe, expect, it } from 'vitest'
import { app } from '../src/app'
import { call, testEnv } from './helpers/worker'

const UNDOCUMENTED = new Set(['/healthz', '/api/v1/openapi.json'])

describe('GET /api/v1/openapi.json', () => {
  it('documents exactly the routes the app serves', async () => {
    const res = await call(testEnv(), 'GET', '/api/v1/openapi.json')
    expect(res.status).toBe(200)
    const paths = res.body.paths as Record<string, Record<string, unknown>>
    const documented = Object.entries(paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    )
    const served = app.routes
      .filter((r) => r.method !== 'ALL' && !UNDOCUMENTED.has(r.path))
      .map((r) => `${r.method} ${r.path}`)
    expect([...new Set(served)].sort()).toEqual(documented.sort())
  })
})
