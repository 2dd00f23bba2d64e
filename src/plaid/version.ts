/**
 * The Plaid API version this project speaks: sent as `Plaid-Version` on every call, checked by the
 * emulator, and the name of the OpenAPI spec the contract check reads. Kept free of Worker types
 * so the emulator and the Node scripts import it too.
 */
export const PLAID_VERSION = '2020-09-14'
