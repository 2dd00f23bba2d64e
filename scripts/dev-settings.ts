/**
 * Where `npm run dev` puts things and what it tells the Worker about them, as plain functions of
 * the environment and of .dev.vars (no file or network access, so the tests run them as they are):
 *   devPorts(env)            the API, emulator and demo ports (PORT, EMULATOR_PORT, DEMO_PORT)
 *   devWorkerVars(vars, ...) the `--var` settings for `wrangler dev`: the emulator's URL, the API's
 *                            own webhook URL, the demo's origin and redirect page, each unless
 *                            .dev.vars decides it, with a warning for a setting that no longer fits
 *   sessionUrls(...)         where a running `npm run dev` is, for the commands of a second terminal
 */

export type DevPorts = { api: number; emulator: number; demo: number }
export type DevUrls = { api: string; emulator: string; demo: string }

export const DEFAULT_PORTS: DevPorts = { api: 8787, emulator: 8788, demo: 8789 }

/** The demo's redirect page, for PLAID_REDIRECT_URI: the app itself, which resumes Link there. */
export const REDIRECT_PATH = '/oauth-return'

const PORT_VARS = { api: 'PORT', emulator: 'EMULATOR_PORT', demo: 'DEMO_PORT' } as const

/** The ports from PORT, EMULATOR_PORT and DEMO_PORT, each defaulted; throws naming a bad one. */
export function devPorts(env: Record<string, string | undefined>): DevPorts {
  const ports = { ...DEFAULT_PORTS }
  for (const [key, name] of Object.entries(PORT_VARS) as [keyof DevPorts, string][]) {
    const raw = env[name]
    if (raw === undefined || raw === '') continue
    const port = Number(raw)
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`${name} must be a port number from 1 to 65535, got ${JSON.stringify(raw)}`)
    }
    ports[key] = port
  }
  return ports
}

export const devUrls = (ports: DevPorts): DevUrls => ({
  api: `http://127.0.0.1:${ports.api}`,
  emulator: `http://127.0.0.1:${ports.emulator}`,
  demo: `http://127.0.0.1:${ports.demo}`,
})

/** Whether .dev.vars sends the API to Plaid itself (real Sandbox keys, no PLAID_BASE_URL elsewhere). */
export function usesRealPlaid(vars: Record<string, string>): boolean {
  const keys = Boolean(vars.PLAID_CLIENT_ID || vars.PLAID_SECRET)
  if (!keys) return false
  if (!vars.PLAID_BASE_URL) return true
  try {
    return new URL(vars.PLAID_BASE_URL).hostname.endsWith('.plaid.com')
  } catch {
    return false
  }
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])

/** The port of a loopback http URL, or undefined for any other URL. */
function loopbackPort(value: string): number | undefined {
  try {
    const url = new URL(value)
    if (url.protocol !== 'http:' || !LOOPBACK.has(url.hostname)) return undefined
    return Number(url.port || 80)
  } catch {
    return undefined
  }
}

/**
 * The `--var` settings `npm run dev` gives the Worker, besides LOCAL_DEV, and warnings to print:
 * - ALLOWED_ORIGINS: the demo's origin added to those in .dev.vars.
 * - Against the emulator (no real Plaid keys in .dev.vars): PLAID_BASE_URL, the emulator wherever
 *   EMULATOR_PORT put it; PLAID_WEBHOOK_URL, this API's webhook route, so Items get the emulator's
 *   webhooks; PLAID_REDIRECT_URI, the demo's redirect page. Each is left to .dev.vars when it sets
 *   it, with a warning when its PLAID_BASE_URL or PLAID_WEBHOOK_URL names this machine on a port
 *   where the emulator or the API is not (a line written for other ports).
 * With real Plaid keys, Plaid's Sandbox can reach none of these, so .dev.vars decides them all.
 */
export function devWorkerVars(
  vars: Record<string, string>,
  urls: DevUrls,
): { vars: Record<string, string>; warnings: string[] } {
  const out: Record<string, string> = {}
  const warnings: string[] = []
  const origins = [...(vars.ALLOWED_ORIGINS?.split(',').map((o) => o.trim()) ?? []), urls.demo].filter(Boolean)
  out.ALLOWED_ORIGINS = [...new Set(origins)].join(',')
  if (usesRealPlaid(vars)) return { vars: out, warnings }

  const own = {
    PLAID_BASE_URL: urls.emulator,
    PLAID_WEBHOOK_URL: `${urls.api}/api/v1/banking/webhooks`,
    PLAID_REDIRECT_URI: `${urls.demo}${REDIRECT_PATH}`,
  }
  for (const [name, value] of Object.entries(own)) {
    const set = vars[name]
    if (!set) {
      out[name] = value
      continue
    }
    // A redirect page on this machine is often the developer's own frontend: no warning there.
    const port = name === 'PLAID_REDIRECT_URI' ? undefined : loopbackPort(set)
    if (port !== undefined && port !== loopbackPort(value)) {
      warnings.push(
        `${name} in .dev.vars is ${set}, but npm run dev serves ${value}; ` +
          `delete the line there to follow the ports npm run dev uses.`,
      )
    }
  }
  return { vars: out, warnings }
}

/** What `npm run dev` records about itself while it runs (the session file). */
export type DevSession = DevUrls & { pid: number }

/**
 * Where the commands of a second terminal find `npm run dev`: PORT, EMULATOR_PORT and DEMO_PORT
 * when exported there; otherwise the running session's (when `session` is one and still alive);
 * otherwise the defaults.
 */
export function sessionUrls(env: Record<string, string | undefined>, session: DevSession | undefined): DevUrls {
  const exported = devUrls(devPorts(env))
  const fallback = session ?? devUrls(DEFAULT_PORTS)
  return {
    api: env.PORT ? exported.api : fallback.api,
    emulator: env.EMULATOR_PORT ? exported.emulator : fallback.emulator,
    demo: env.DEMO_PORT ? exported.demo : fallback.demo,
  }
}

/** The session file's contents, or undefined if they are not a session. */
export function parseSession(text: string): DevSession | undefined {
  try {
    const data = JSON.parse(text) as Partial<DevSession>
    const urls = [data.api, data.emulator, data.demo]
    if (!Number.isInteger(data.pid) || !urls.every((u) => typeof u === 'string' && /^https?:\/\//.test(u))) {
      return undefined
    }
    return data as DevSession
  } catch {
    return undefined
  }
}

/** The `npm run dev -- ...` flags that ask for wrangler's DevTools inspector. */
const INSPECTOR_FLAGS = ['--inspector-port', '--inspector-ip']

/**
 * What `npm run dev` adds to `wrangler dev`'s environment: VSCODE_INSPECTOR_OPTIONS, which makes
 * wrangler (4.86) leave out the DevTools inspector proxy from its dev proxy, as it does in VS
 * Code's JavaScript Debug Terminal. That proxy enables the Network domain on the Worker's
 * inspector and sends each event it gets (four for each subrequest, plus up to one for each 4 KiB
 * of each response body: up to about 180 for one 720 KB page of /transactions/sync) to wrangler's own
 * process as one HTTP request. A large first sync makes thousands a second, more sockets than
 * a process may hold, and the dev proxy stops answering (docs/dev-proxy.md). The Worker's console
 * output and uncaught errors are printed all the same (they come from workerd's own output).
 * Nothing is added when the developer asks for the inspector (`--inspector-port`,
 * `--inspector-ip`) or already runs in a VS Code debug terminal.
 */
export function wranglerDevEnv(
  args: readonly string[],
  env: Record<string, string | undefined>,
): Record<string, string> {
  const wantsInspector = args.some((arg) => INSPECTOR_FLAGS.some((flag) => arg === flag || arg.startsWith(`${flag}=`)))
  if (wantsInspector || env.VSCODE_INSPECTOR_OPTIONS) return {}
  return { VSCODE_INSPECTOR_OPTIONS: '{}' }
}
