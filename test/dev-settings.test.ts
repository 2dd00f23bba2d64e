import { describe, expect, it } from 'vitest'
import {
  DEFAULT_PORTS,
  devPorts,
  devUrls,
  devWorkerVars,
  parseSession,
  sessionUrls,
  wranglerDevEnv,
} from '../scripts/dev-settings'

const moved = devUrls({ api: 18787, emulator: 18790, demo: 18789 })

describe('npm run dev: ports', () => {
  it('takes PORT, EMULATOR_PORT and DEMO_PORT, each defaulted', () => {
    expect(devPorts({})).toEqual(DEFAULT_PORTS)
    expect(devPorts({ EMULATOR_PORT: '18790' })).toEqual({ ...DEFAULT_PORTS, emulator: 18790 })
    expect(devPorts({ PORT: '18787', EMULATOR_PORT: '18790', DEMO_PORT: '18789' })).toEqual({
      api: 18787,
      emulator: 18790,
      demo: 18789,
    })
  })

  it('refuses a port that is not one, naming the variable', () => {
    expect(() => devPorts({ EMULATOR_PORT: 'abc' })).toThrow('EMULATOR_PORT must be a port number')
    expect(() => devPorts({ PORT: '70000' })).toThrow('PORT must be a port number')
  })
})

describe('npm run dev: what the Worker is told', () => {
  it('against the emulator, points the Worker at the emulator, its own webhook route and the demo, wherever they run', () => {
    expect(devWorkerVars({}, moved)).toEqual({
      vars: {
        ALLOWED_ORIGINS: 'http://127.0.0.1:18789',
        PLAID_BASE_URL: 'http://127.0.0.1:18790',
        PLAID_WEBHOOK_URL: 'http://127.0.0.1:18787/api/v1/banking/webhooks',
        PLAID_REDIRECT_URI: 'http://127.0.0.1:18789/oauth-return',
      },
      warnings: [],
    })
  })

  it('leaves Plaid settings to .dev.vars when it holds real Plaid keys', () => {
    const vars = { PLAID_CLIENT_ID: 'real-id', PLAID_SECRET: 'real-secret', ALLOWED_ORIGINS: 'https://app.example.com' }
    expect(devWorkerVars(vars, moved)).toEqual({
      vars: { ALLOWED_ORIGINS: 'https://app.example.com,http://127.0.0.1:18789' },
      warnings: [],
    })
  })

  it('keeps what .dev.vars sets, and warns when its emulator or webhook URL names a port npm run dev does not serve', () => {
    const vars = {
      PLAID_BASE_URL: 'http://127.0.0.1:8788',
      PLAID_WEBHOOK_URL: 'https://tunnel.example.com/api/v1/banking/webhooks',
      PLAID_REDIRECT_URI: 'http://localhost:5173/oauth-return',
    }
    const { vars: out, warnings } = devWorkerVars(vars, moved)
    expect(out).toEqual({ ALLOWED_ORIGINS: 'http://127.0.0.1:18789' })
    expect(warnings).toEqual([
      expect.stringMatching(
        /^PLAID_BASE_URL in \.dev\.vars is http:\/\/127\.0\.0\.1:8788, but npm run dev serves http:\/\/127\.0\.0\.1:18790/,
      ),
    ])
    expect(devWorkerVars({ PLAID_BASE_URL: 'http://localhost:18790' }, moved).warnings).toEqual([])
  })
})

describe('npm run dev: where a second terminal finds it', () => {
  const session = { ...moved, pid: 123 }

  it("follows the running session's ports when none is exported there", () => {
    expect(sessionUrls({}, session)).toEqual(moved)
  })

  it('lets an exported port win, and falls back to the defaults with no session', () => {
    expect(sessionUrls({ PORT: '28787' }, session)).toEqual({ ...moved, api: 'http://127.0.0.1:28787' })
    expect(sessionUrls({}, undefined)).toEqual(devUrls(DEFAULT_PORTS))
  })

  it('reads a session file, and nothing else as one', () => {
    expect(parseSession(JSON.stringify(session))).toEqual(session)
    expect(parseSession('{"api":"http://127.0.0.1:1"}')).toBeUndefined()
    expect(parseSession('not json')).toBeUndefined()
  })
})

describe("npm run dev: wrangler's inspector proxy", () => {
  it('is left out unless asked for', () => {
    expect(wranglerDevEnv([], {})).toEqual({ VSCODE_INSPECTOR_OPTIONS: '{}' })
    expect(wranglerDevEnv(['--log-level', 'debug'], {})).toEqual({ VSCODE_INSPECTOR_OPTIONS: '{}' })
  })

  it('stays when the developer asks for the inspector or runs in a VS Code debug terminal', () => {
    expect(wranglerDevEnv(['--inspector-port', '9230'], {})).toEqual({})
    expect(wranglerDevEnv(['--inspector-port=9230'], {})).toEqual({})
    expect(wranglerDevEnv(['--inspector-ip', '0.0.0.0'], {})).toEqual({})
    expect(wranglerDevEnv([], { VSCODE_INSPECTOR_OPTIONS: ':::{"inspectorIpc":"x"}' })).toEqual({})
  })
})
