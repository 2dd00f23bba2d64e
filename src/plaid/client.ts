/**
 * A typed Plaid client over plain `fetch`. Hand-written because the official SDK (axios-based)
 * is several times the size of this whole Worker and puts the secret header in its errors;
 * each method maps to one endpoint of Plaid's OpenAPI spec (version 2020-09-14).
 */
import type { PlaidConfig } from '../env'
import { PlaidApiError, PlaidConnectionError, PlaidResponseError, PlaidTimeoutError } from './errors'
import type { LinkTokenCreateRequest, LinkTokenCreateResponse } from './types'

export const PLAID_VERSION = '2020-09-14'

type Fetch = (input: Request | string | URL, init?: RequestInit) => Promise<Response>

export class PlaidClient {
  constructor(
    private readonly config: Pick<PlaidConfig, 'baseUrl' | 'clientId' | 'secret' | 'timeoutMs'>,
    private readonly fetchImpl: Fetch = (input, init) => fetch(input, init),
  ) {}

  /** `/link/token/create`: a short-lived token that initializes Plaid Link. */
  createLinkToken(body: LinkTokenCreateRequest): Promise<LinkTokenCreateResponse> {
    return this.request('/link/token/create', body, (data) =>
      typeof data.link_token === 'string' && typeof data.expiration === 'string'
        ? { link_token: data.link_token, expiration: data.expiration, request_id: str(data.request_id) }
        : undefined,
    )
  }

  /**
   * The one place that talks HTTP to Plaid: credentials in headers (never in the body, so a
   * logged body cannot leak them), a hard timeout, and every failure mapped to a PlaidError.
   */
  protected async request<T>(
    path: string,
    body: object,
    parse: (data: Record<string, unknown>) => T | undefined,
    timeoutMs = this.config.timeoutMs,
  ): Promise<T> {
    let response: Response
    let text: string
    try {
      response = await this.fetchImpl(`${this.config.baseUrl}${path}`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'PLAID-CLIENT-ID': this.config.clientId,
          'PLAID-SECRET': this.config.secret,
          'Plaid-Version': PLAID_VERSION,
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      })
      // The timeout covers the body too: a server that sends headers and then stalls is as
      // stuck as one that never answers.
      text = await response.text()
    } catch (error) {
      if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
        throw new PlaidTimeoutError(timeoutMs)
      }
      throw new PlaidConnectionError()
    }

    let data: unknown
    try {
      data = JSON.parse(text)
    } catch {
      throw new PlaidResponseError('not JSON', response.status)
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      throw new PlaidResponseError('not a JSON object', response.status)
    }
    const record = data as Record<string, unknown>
    const requestId = str(record.request_id)

    if (!response.ok) {
      if (typeof record.error_code === 'string' && typeof record.error_message === 'string') {
        throw new PlaidApiError(
          response.status,
          str(record.error_type) ?? 'API_ERROR',
          record.error_code,
          record.error_message,
          str(record.display_message) ?? null,
          requestId,
        )
      }
      throw new PlaidResponseError('an error without error_code', response.status, requestId)
    }
    const parsed = parse(record)
    if (parsed === undefined) {
      throw new PlaidResponseError('required fields are missing', response.status, requestId)
    }
    return parsed
  }
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}
