/**
 * Writes the OpenAPI document (src/openapi/document.ts) to public/api/v1/openapi.json, where
 * Workers Static Assets serve it at GET /api/v1/openapi.json without the Worker's bundle carrying
 * it. `--check` writes nothing and exits 1 when the committed file is not the builder's output
 * (test/openapi.test.ts checks the same).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { buildOpenApiDocument } from '../src/openapi/document'

const FILE = resolve(import.meta.dirname, '../public/api/v1/openapi.json')
const text = `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`

if (process.argv.includes('--check')) {
  let committed = ''
  try {
    committed = readFileSync(FILE, 'utf8')
  } catch {}
  if (committed !== text) {
    console.error(`${FILE} is not the document src/openapi/ builds: run npm run openapi`)
    process.exitCode = 1
  }
} else {
  writeFileSync(FILE, text)
  console.log(`wrote ${FILE} (${text.length} bytes)`)
}
