/**
 * Structured logs: one JSON object per line, which Workers Logs and `wrangler tail` index.
 * Callers pass only fields that are safe to keep; nothing here inspects values for secrets.
 */
export type LogFields = Record<string, string | number | boolean | null | undefined>

export function logEvent(level: 'info' | 'warn' | 'error', message: string, fields: LogFields = {}): void {
  const line = JSON.stringify({ level, message, time: new Date().toISOString(), ...fields })
  if (level === 'error') console.error(line)
  else if (level === 'warn') console.warn(line)
  else console.log(line)
}
