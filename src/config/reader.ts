import type { Bindings } from './settings'

/** This machine: the only hosts plain http may reach for settings other than PLAID_BASE_URL. */
export const isLoopback = (url: URL) => ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)

/** Loopback, or names reserved by RFC 2606 / RFC 6761 (the tests' plaid.test): never a public host. */
export const isReservedHost = (url: URL) =>
  isLoopback(url) || url.hostname.endsWith('.localhost') || url.hostname.endsWith('.test')

export const isUnset = (raw: unknown) => raw === undefined || raw === null

/**
 * Collects every problem so one 500 names all the settings to fix, not just the first. No
 * message is built from a value: settings include secrets, and a detail reaches the caller.
 */
export class Reader {
  readonly problems: string[] = []
  /** Settings already reported, so reading one twice does not report it twice; in report order. */
  private readonly reported = new Set<keyof Bindings>()
  constructor(private readonly env: Bindings) {}

  /** The settings named by the problems, for a readiness probe that lists what to fix. */
  get settings(): (keyof Bindings)[] {
    return [...this.reported]
  }

  problem(name: keyof Bindings, message: string): void {
    if (this.reported.has(name)) return
    this.reported.add(name)
    this.problems.push(message)
  }

  /** Whether the setting already has a problem (so a check built on its value is moot). */
  isBad(name: keyof Bindings): boolean {
    return this.reported.has(name)
  }

  /**
   * The value, or undefined when unset or unusable. A blank value is a problem, not "unset": an
   * empty `NAME=` line or `NAME = ""` is a mistake far more often than a wish for the default,
   * and a blank JWT_AUDIENCE taken as unset would quietly turn its check off.
   * `ifDeleted` says what deleting the setting does, when deleting it is a fix.
   */
  optional(name: keyof Bindings, how: string, ifDeleted?: string): string | undefined {
    const raw = this.env[name]
    if (isUnset(raw)) return undefined
    if (typeof raw !== 'string') {
      this.problem(name, `${name} must be text; quote its value in wrangler.toml (${name} = "...")`)
      return undefined
    }
    if (raw.trim() === '') {
      this.problem(name, `${name} is blank; ${how}${ifDeleted ? `, or delete it ${ifDeleted}` : ''}`)
      return undefined
    }
    if (raw !== raw.trim() || /^["'`]|["'`]$/.test(raw)) {
      this.problem(name, `${name} has leading or trailing spaces or quotes; store the bare value`)
      return undefined
    }
    return raw
  }

  /** The value, else `fallback` (a development default), else a problem saying how to set it. */
  required(name: keyof Bindings, how: string, fallback?: string): string {
    const value = this.optional(name, how, fallback === undefined ? undefined : 'to use the development default')
    if (value !== undefined) return value
    if (isUnset(this.env[name]) && fallback === undefined) this.problem(name, `${name} is not set; ${how}`)
    return isUnset(this.env[name]) ? (fallback ?? '') : ''
  }

  /** A comma list whose entries all come from `allowed`; `how` lists them. */
  list(name: keyof Bindings, fallback: string, allowed: ReadonlySet<string>, what: string, how: string): string[] {
    return this.entries(
      name,
      this.optional(name, how, `to use the default (${fallback})`) ?? fallback,
      allowed,
      what,
      how,
    )
  }

  /** Like list, but with no default: unset is the empty list, and `ifDeleted` says what that means. */
  optionalList(
    name: keyof Bindings,
    ifDeleted: string,
    allowed: ReadonlySet<string>,
    what: string,
    how: string,
  ): string[] {
    const value = this.optional(name, how, ifDeleted)
    return value === undefined ? [] : this.entries(name, value, allowed, what, how)
  }

  private entries(name: keyof Bindings, value: string, allowed: ReadonlySet<string>, what: string, how: string) {
    const items = value.split(',').map((s) => s.trim())
    if (items.some((s) => s === '')) {
      this.problem(name, `${name} has an empty entry; remove the extra comma (${how})`)
      return []
    }
    if (items.some((s) => !allowed.has(s))) this.problem(name, `${name} contains an unknown ${what}; ${how}`)
    return [...new Set(items)]
  }

  /** A whole number of milliseconds within [1, max]. */
  millis(name: keyof Bindings, fallback: number, max: number): number {
    return this.whole(name, fallback, 1, max, 'milliseconds')
  }

  /** A whole number of `unit` within [min, max], written in digits only (no 1e3, 0x10 or 30.0). */
  whole(name: keyof Bindings, fallback: number, min: number, max: number, unit: string): number {
    const rule = `a whole number of ${unit} from ${min} to ${max}`
    const raw = this.optional(name, `set it to ${rule}`, `to use the default (${fallback})`)
    const value = raw === undefined ? fallback : /^\d{1,15}$/.test(raw) ? Number(raw) : Number.NaN
    if (!Number.isInteger(value) || value < min || value > max) this.problem(name, `${name} must be ${rule}`)
    return value
  }

  /** A 256-bit key given as base64 (standard or URL-safe). */
  key(name: keyof Bindings, raw: string | undefined): Uint8Array | undefined {
    if (raw === undefined) return undefined
    let bytes: Uint8Array | undefined
    try {
      bytes = Uint8Array.from(atob(raw.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))
    } catch {
      bytes = undefined
    }
    if (bytes?.length !== 32) {
      this.problem(name, `${name} must be base64 of exactly 32 random bytes (openssl rand -base64 32)`)
      return undefined
    }
    return bytes
  }

  /** An absolute http(s) URL without trailing slashes; plain http only where `httpAllowed` says. */
  url(
    name: keyof Bindings,
    how: string,
    ifDeleted: string,
    httpAllowed: (url: URL) => boolean,
    { redirect = false } = {},
  ): string | undefined {
    const value = this.optional(name, how, ifDeleted)
    if (value === undefined) return undefined
    let url: URL
    try {
      url = new URL(value)
    } catch {
      this.problem(name, `${name} is not a valid absolute URL; ${how}`)
      return undefined
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && httpAllowed(url))) {
      this.problem(name, `${name} must be an https:// URL; ${how}`)
      return undefined
    }
    // Plaid takes a redirect URI without a query (the bank appends oauth_state_id) and compares it
    // with the Dashboard's list as written, trailing slash included.
    if (redirect) {
      if (url.search !== '' || url.hash !== '') {
        this.problem(name, `${name} must not contain a query or fragment; ${how}`)
        return undefined
      }
      return value
    }
    return value.replace(/\/+$/, '')
  }

  /** Browser origins exactly as a browser sends them in `Origin`, which is what CORS compares. */
  origins(name: keyof Bindings, how: string): string[] {
    const value = this.optional(name, how, 'to give no origin CORS headers')
    if (value === undefined) return []
    const parsed = parseOrigins(value)
    if ('origins' in parsed) return parsed.origins
    this.problem(
      name,
      parsed.problem === 'empty entry'
        ? `${name} has an empty entry; remove the extra comma (${how})`
        : `${name} contains an entry that is not an origin; ${how}`,
    )
    return []
  }
}

/**
 * A comma list of browser origins, or what is wrong with it. src/cors.ts reads ALLOWED_ORIGINS
 * through this too, apart from the other settings, so preflights are answered (or refused) the
 * same way even when another setting is broken.
 */
export function parseOrigins(value: string): { origins: string[] } | { problem: 'empty entry' | 'not an origin' } {
  const entries = value.split(',').map((s) => s.trim())
  if (entries.some((s) => s === '')) return { problem: 'empty entry' }
  const isOrigin = (entry: string) => {
    try {
      const url = new URL(entry)
      return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === entry
    } catch {
      return false
    }
  }
  if (!entries.every(isOrigin)) return { problem: 'not an origin' }
  return { origins: [...new Set(entries)] }
}
