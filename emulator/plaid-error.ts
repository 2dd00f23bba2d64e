/**
 * Plaid's error object, as Plaid sends it: the emulator throws these and the endpoint wrapper
 * turns them into the JSON body and HTTP status Plaid would use. An Item in an error state keeps
 * one too, which `/item/get` shows as `item.error`.
 */
export class EmulatedPlaidError extends Error {
  constructor(
    readonly status: number,
    readonly errorType: string,
    readonly errorCode: string,
    /** Null where Plaid sends none (OAUTH_STATE_ID_ALREADY_PROCESSED). */
    readonly errorMessage: string | null,
    readonly displayMessage: string | null = null,
  ) {
    super(errorMessage ?? errorCode)
  }

  /** The response body of a failed request. */
  body(requestId: string): Record<string, unknown> {
    return { ...this.fields(), request_id: requestId }
  }

  /**
   * The error as Plaid nests it in an Item (`item.error` from `/item/get`, webhooks): the same
   * fields plus the HTTP `status` the error would be answered with.
   */
  itemError(): Record<string, unknown> {
    return { ...this.fields(), status: this.status }
  }

  private fields(): Record<string, unknown> {
    // Plaid's error pages are /docs/errors/invalid-request/, /docs/errors/item/, ... (hyphens).
    const page = this.errorType
      .toLowerCase()
      .replace(/_error$/, '')
      .replaceAll('_', '-')
    return {
      display_message: this.displayMessage,
      documentation_url: `https://plaid.com/docs/errors/${page}/#${this.errorCode.toLowerCase()}`,
      error_code: this.errorCode,
      error_code_reason: null,
      error_message: this.errorMessage,
      error_type: this.errorType,
      suggested_action: null,
    }
  }
}

export const invalidRequest = (code: string, message: string) =>
  new EmulatedPlaidError(400, 'INVALID_REQUEST', code, message)

export const invalidInput = (code: string, message: string) =>
  new EmulatedPlaidError(400, 'INVALID_INPUT', code, message)

export const invalidField = (message: string) => invalidRequest('INVALID_FIELD', message)

export const itemError = (code: string, message: string) => new EmulatedPlaidError(400, 'ITEM_ERROR', code, message)
