/**
 * Plaid's error object, as Plaid sends it: the emulator throws these and the endpoint wrapper
 * turns them into the JSON body and HTTP status Plaid would use.
 */
export class EmulatedPlaidError extends Error {
  constructor(
    readonly status: number,
    readonly errorType: string,
    readonly errorCode: string,
    message: string,
    readonly displayMessage: string | null = null,
  ) {
    super(message)
  }

  body(requestId: string): Record<string, unknown> {
    return {
      display_message: this.displayMessage,
      documentation_url: `https://plaid.com/docs/errors/${this.errorType.toLowerCase().replace(/_error$/, '')}/#${this.errorCode.toLowerCase()}`,
      error_code: this.errorCode,
      error_code_reason: null,
      error_message: this.message,
      error_type: this.errorType,
      request_id: requestId,
      suggested_action: null,
    }
  }
}

export const invalidRequest = (code: string, message: string) =>
  new EmulatedPlaidError(400, 'INVALID_REQUEST', code, message)

export const invalidInput = (code: string, message: string) =>
  new EmulatedPlaidError(400, 'INVALID_INPUT', code, message)

export const invalidField = (message: string) => invalidRequest('INVALID_FIELD', message)
