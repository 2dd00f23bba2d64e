import { existsSync, readFileSync } from 'node:fs'

/** The settings in .dev.vars (KEY=value lines), as `wrangler dev` reads them. */
export function readDevVars(path = '.dev.vars'): Record<string, string> {
  if (!existsSync(path)) return {}
  const vars: Record<string, string> = {}
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line)
    if (match?.[1]) vars[match[1]] = (match[2] ?? '').replace(/^(["'])(.*)\1$/, '$2')
  }
  return vars
}
