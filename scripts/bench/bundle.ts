/** The deployable bundle's size, as `wrangler deploy --dry-run --minify` builds it, against the gzip budget. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { collect, spawnGroup } from '../lib/process'
import { wranglerEnv } from '../lib/stack'
import { GZIP_BUDGET_KIB, progress } from './options'

export type BundleResult = { path: string; rawKiB: number; gzipKiB: number; pass: boolean }

export async function measureBundle(outdir: string): Promise<BundleResult> {
  progress('building the deployable bundle (wrangler deploy --dry-run --minify)')
  const result = await collect(
    spawnGroup('npx', ['wrangler', 'deploy', '--dry-run', '--minify', '--outdir', outdir], wranglerEnv()),
  )
  if (result.code !== 0) {
    throw new Error(`wrangler deploy --dry-run failed (exit ${result.code}):\n${result.stdout}${result.stderr}`)
  }
  const path = join(outdir, 'index.js')
  const source = readFileSync(path)
  const rawKiB = source.length / 1024
  const gzipKiB = gzipSync(source, { level: 9 }).length / 1024
  return { path, rawKiB, gzipKiB, pass: gzipKiB <= GZIP_BUDGET_KIB }
}
