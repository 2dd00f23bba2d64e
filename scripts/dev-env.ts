/**
 * `npm run --silent dev:env`: prints where the running `npm run dev` serves the API, the emulator
 * and the demo, as shell assignments, for the README's commands in another terminal:
 *   eval "$(npm run --silent dev:env)"   # then $API_URL, $EMULATOR_URL, $DEMO_URL
 * It reads npm run dev's session file (or PORT, EMULATOR_PORT and DEMO_PORT when exported here);
 * with no session running it prints the default addresses and says so on stderr.
 */
import { readSession } from './dev-session'
import { sessionUrls } from './dev-settings'

const session = readSession()
if (!session) console.error('dev:env: npm run dev is not running here; printing the default addresses')
const urls = sessionUrls(process.env, session)
console.log(`API_URL=${urls.api}\nEMULATOR_URL=${urls.emulator}\nDEMO_URL=${urls.demo}`)
