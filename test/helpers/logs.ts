import { vi } from 'vitest'

/** Captures everything the Worker logs while `fn` runs, as one string. */
export async function captureLogs<T>(fn: () => Promise<T>): Promise<{ result: T; logs: string }> {
  const lines: string[] = []
  const record = (...args: unknown[]) => {
    lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '))
  }
  const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) =>
    vi.spyOn(console, m).mockImplementation(record),
  )
  try {
    return { result: await fn(), logs: lines.join('\n') }
  } finally {
    for (const spy of spies) spy.mockRestore()
  }
}

/** One record per structured (JSON) line the Worker logged; other output is skipped. */
export const logRecords = (logs: string): Array<Record<string, unknown>> =>
  logs
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
