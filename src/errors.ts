/**
 * The API's typed errors. Handlers and middleware throw these; `app.onError` is the only place
 * that turns them into the `{"detail": ...}` body, so every failure has the same shape.
 */

/** An error whose message is safe to show the caller as it is. */
export class ApiError extends Error {
  override name = 'ApiError'
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 422 | 429 | 500 | 502 | 503,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly extra: Record<string, string> = {},
  ) {
    super(message)
  }
}

/** 401 with the challenge RFC 6750 asks for; the reason never repeats the token. */
export class UnauthorizedError extends ApiError {
  override name = 'UnauthorizedError'
  constructor(reason: string, code: 'invalid_request' | 'invalid_token' = 'invalid_token') {
    super(401, reason, { 'WWW-Authenticate': `Bearer error="${code}"` })
  }
}

/**
 * A setting is missing or malformed. The message names the setting and how to fix it, and
 * never contains its value: settings include secrets.
 */
export class ConfigError extends Error {
  override name = 'ConfigError'
  constructor(
    readonly problems: string[],
    /** The names of the settings (and bindings) the problems are about. */
    readonly settings: string[] = [],
  ) {
    super(`server misconfigured: ${problems.join('; ')}`)
  }
}
