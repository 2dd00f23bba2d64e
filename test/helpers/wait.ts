/**
 * Waits on state that something outside the test changes (the real queue's consumer, say): reads
 * it with `probe` until `done` accepts it, and fails the test with the last value read if that
 * has not happened within `timeoutMs`. The pause between reads only spaces them out; what ends
 * the wait is the state, never a time.
 */
export async function waitFor<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs = 10_000, what = 'the awaited state' }: { timeoutMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (done(value)) return value
    if (Date.now() >= deadline) {
      throw new Error(`${what} not reached within ${timeoutMs} ms; last seen: ${describe(value)}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

function describe(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return text === undefined ? String(value) : text.length > 500 ? `${text.slice(0, 500)}...` : text
}
