/** Figures and Markdown tables for the reports. */
import { cpus } from 'node:os'

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index] ?? Number.NaN
}

export const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  )

export const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a')

/** Text safe inside a table cell. */
export const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ')

/** A Markdown table. */
export const table = (header: string[], rows: string[][]) =>
  [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n')

/** Where and when a report was measured: Node, the CPU, its cores and the time. */
export function machine(): string {
  const cpu = cpus()
  return `Node ${process.version} · ${cpu[0]?.model.trim() ?? 'unknown CPU'} · ${cpu.length} cores · ${new Date().toISOString()}`
}
