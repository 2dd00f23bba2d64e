/** Requests to the API of a running stack. */

/** Where the banking routes are mounted. */
export const API_PREFIX = '/api/v1/banking'

export type ApiRequest = {
  method: string
  /** From the API's root, e.g. `/healthz` or `${API_PREFIX}/accounts`. */
  path: string
  headers?: Record<string, string>
  /** A string is sent as is; anything else as JSON. */
  body?: unknown
}

/** The answer; status 0 (and the error in `text`) when none came. */
export type ApiAnswer = {
  status: number
  text: string
  json: Record<string, unknown>
  headers: Headers | null
  ms: number
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` })

export function requestInit(request: ApiRequest): RequestInit {
  const headers: Record<string, string> = { ...request.headers }
  let body: string | undefined
  if (typeof request.body === 'string') body = request.body
  else if (request.body !== undefined) {
    body = JSON.stringify(request.body)
    headers['Content-Type'] ??= 'application/json'
  }
  return { method: request.method, headers, body }
}

/**
 * Sends the request and reads the whole answer, timed (with `parse` false, the body is left as
 * text: a load generator's timings leave out JSON parsing). Never throws: a failed request answers status 0.
 */
export async function callApi(
  apiUrl: string,
  request: ApiRequest,
  { timeoutMs, signal, parse = true }: { timeoutMs?: number; signal?: AbortSignal; parse?: boolean } = {},
): Promise<ApiAnswer> {
  const t0 = performance.now()
  try {
    signal ??= timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs)
    const res = await fetch(`${apiUrl}${request.path}`, { ...requestInit(request), signal })
    const text = await res.text()
    const ms = performance.now() - t0
    let json: Record<string, unknown> = {}
    try {
      json = parse && text ? (JSON.parse(text) as Record<string, unknown>) : {}
    } catch {
      // not JSON: the text explains
    }
    return { status: res.status, text, json, headers: res.headers, ms }
  } catch (error) {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    return { status: 0, text, json: {}, headers: null, ms: performance.now() - t0 }
  }
}
