/** `npm run bench`'s settings (docs/bench.md): budgets, env knobs and the sizes of its runs. */
import { positiveNumber } from '../lib/options'

/** The product's budget for the deployed bundle, gzip level 9. */
export const GZIP_BUDGET_KIB = 30
export const SECONDS = positiveNumber('BENCH_SECONDS', 5)
export const CONCURRENCY = Math.floor(positiveNumber('BENCH_CONCURRENCY', 16))
export const WARMUP_SECONDS = positiveNumber('BENCH_WARMUP_SECONDS', 1)
export const STARTUP_RUNS = Math.floor(positiveNumber('BENCH_STARTUP_RUNS', 20))
export const SYNC_TRANSACTIONS = Math.floor(positiveNumber('BENCH_SYNC_TRANSACTIONS', 10_000))
/** The Sandbox bank every bench Item is linked at (each user links it once). */
export const INSTITUTION_ID = 'ins_109508'
/** Most requests built ahead of one timed window; past it, workers build them inline (and we say so). */
export const MAX_POOL = 10_000
/** How many times the warm-up's estimate of a window's requests to build ahead (it runs cold, so it is low). */
export const POOL_MARGIN = 2.5

export const SCALE = process.env.BENCH_SCALE !== '0'
export const SCALE_SIZES = (process.env.BENCH_SCALE_SIZES ?? '10000,100000,200000')
  .split(',')
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0)
/** 0 leaves out the simulated users (the large syncs alone). */
export const SCALE_USERS =
  process.env.BENCH_SCALE_USERS === '0' ? 0 : Math.floor(positiveNumber('BENCH_SCALE_USERS', 1000))
/** A typical user for the projection: 2 Items, 24 months at about 150 transactions a month. */
export const TYPICAL = { items: 2, transactions: 24 * 150 }
/** D1's size per database, which Cloudflare cannot raise. */
export const D1_CAP_BYTES = 10 * 1024 ** 3
/** Transactions per Item of a simulated user: a typical history (0 keeps the Sandbox's default). */
export const SCALE_HISTORY = Math.floor(Number(process.env.BENCH_SCALE_HISTORY ?? TYPICAL.transactions / TYPICAL.items))
/** Syncs of a simulated user's history at once: more only queue up behind each other in the one local workerd. */
export const HISTORY_CONCURRENCY = 4
/** Users per `wrangler dev` session: the one local workerd keeps every object it has served in memory. */
export const USERS_PER_SESSION = 200

export const progress = (message: string) => console.error(`[bench] ${message}`)
