/**
 * Structured logs: one JSON object per line, which Workers Logs and `wrangler tail` index.
 * Every line carries the fields its logger was made with (the request id, or the queue message
 * id), so all lines of one request can be found together. Callers pass only fields that are safe
 * to keep; nothing here inspects values for secrets.
 */
export type LogFields = Record<string, string | number | boolean | null | undefined>
export type LogLevel = 'info' | 'warn' | 'error'

export type Logger = {
  (level: LogLevel, message: string, fields?: LogFields): void
  /** A logger that adds `fields` to every line. */
  with(fields: LogFields): Logger
}

export function createLogger(base: LogFields = {}): Logger {
  const log = (level: LogLevel, message: string, fields: LogFields = {}) => {
    const line = JSON.stringify({ level, message, time: new Date().toISOString(), ...base, ...fields })
    if (level === 'error') console.error(line)
    else if (level === 'warn') console.warn(line)
    else console.log(line)
  }
  return Object.assign(log, { with: (fields: LogFields) => createLogger({ ...base, ...fields }) })
}
