/**
 * What one emulated transaction looks like: the spec's fields filled from a merchant template,
 * with stable entity ids, logos and times of day, so a log replays to the same transactions.
 */
import { TEMPLATES } from '../data/merchants'
import { seededId, seededRandom } from '../ids'
import type { Counterparty, Location, PaymentMetaField, Template, TransactionJson } from './types'

const NO_LOCATION: Location = {
  address: null,
  city: null,
  region: null,
  postal_code: null,
  country: null,
  lat: null,
  lon: null,
  store_number: null,
}

// Shared by every transaction (never mutated): none of them is an inter-bank transfer with details.
const NO_PAYMENT_META: Readonly<Record<PaymentMetaField, null>> = Object.freeze({
  by_order_of: null,
  payee: null,
  payer: null,
  payment_method: null,
  payment_processor: null,
  ppd_id: null,
  reason: null,
  reference_number: null,
})

// Stable per merchant (as Plaid's are), so the same merchant has one entity_id across Items.
const entityId = (name: string) => seededId(seededRandom(name))
const ENTITY_IDS = new Map(TEMPLATES.map((t) => [t.merchant, t.merchant && entityId(t.merchant)]))

const TRANSACTION_TYPE = { online: 'digital', 'in store': 'place', other: 'special' } as const
export const DAY_MS = 86_400_000
// Memoized: a log of thousands of transactions spans few days, and Date formatting is the slow part.
const DAYS = new Map<number, string>()
export const day = (ms: number) => {
  const index = Math.floor(ms / DAY_MS)
  let text = DAYS.get(index)
  if (text === undefined) {
    text = new Date(index * DAY_MS).toISOString().slice(0, 10)
    DAYS.set(index, text)
  }
  return text
}
export const cents = (n: number) => Math.round(n * 100) / 100

/**
 * A transaction from `template` in `accountId` that happened at `when`, `ageDays` days ago (recent
 * card purchases are still pending), drawing from `random` and `newId` in a fixed order so a
 * seeded log comes out the same every time.
 */
export function newTransaction(
  template: Template,
  accountId: string,
  when: number,
  ageDays: number,
  random: () => number,
  newId: () => string,
): TransactionJson {
  const [min, max] = template.amount
  const amount = cents(min + random() * (max - min))
  const card = template.channel !== 'other'
  const pending = card && ageDays < 2 && random() < 0.6
  // Card purchases post a day or two after they are authorized.
  const authorized = day(when - (card && !pending ? Math.floor(random() * 3) * DAY_MS : 0))
  const entityId = ENTITY_IDS.get(template.merchant) ?? null
  const logo = template.merchant && `https://plaid-merchant-logos.plaid.com/${slug(template.merchant)}.png`
  const [primary, detailed] = template.pfc
  return withTimes({
    account_id: accountId,
    account_owner: null,
    amount,
    iso_currency_code: 'USD',
    unofficial_currency_code: null,
    check_number: null,
    counterparties: template.merchant
      ? [
          ...(template.via ? [intermediary(template.via)] : []),
          {
            name: template.merchant,
            type: template.counterpartyType ?? 'merchant',
            logo_url: logo,
            website: template.website ?? null,
            entity_id: entityId,
            confidence_level: 'VERY_HIGH',
          },
        ]
      : [],
    date: day(when),
    datetime: null,
    authorized_date: authorized,
    authorized_datetime: null,
    location: { ...NO_LOCATION, ...(template.channel === 'in store' ? template.location : {}) },
    name: template.name,
    merchant_name: template.merchant,
    merchant_entity_id: entityId,
    logo_url: logo,
    website: template.website ?? null,
    payment_meta: NO_PAYMENT_META,
    payment_channel: template.channel,
    pending,
    // A posted card purchase replaced the pending one Plaid saw first; that one is long gone.
    pending_transaction_id: card && !pending && random() < 0.5 ? newId() : null,
    personal_finance_category: {
      primary,
      detailed,
      confidence_level: random() < 0.8 ? 'VERY_HIGH' : 'HIGH',
      version: 'v1',
    },
    personal_finance_category_icon_url: `https://plaid-category-icons.plaid.com/PFC_${primary}.png`,
    transaction_id: newId(),
    transaction_code: null,
    transaction_type: TRANSACTION_TYPE[template.channel],
    original_description: template.original,
  })
}

/** A counterparty the payment went through: a terminal or marketplace Plaid recognizes with less certainty. */
const intermediary = (via: NonNullable<Template['via']>): Counterparty => ({
  name: via.name,
  type: via.type,
  logo_url: `https://plaid-counterparty-logos.plaid.com/${slug(via.name)}.png`,
  website: via.website,
  entity_id: entityId(via.name),
  confidence_level: 'HIGH',
})

/**
 * Plaid's `authorized_datetime` and `datetime` for card and online activity (the bank's own
 * entries, fees and transfers, carry no time, as at most banks). The times of day come from a hash
 * of the transaction id rather than the PRNG, so a saved log replays to the same transactions:
 * authorized in the morning, posted in the afternoon, so the posting never precedes the
 * authorization. A time already set (a posted transaction keeps its pending one's) is kept.
 */
export function withTimes(t: TransactionJson): TransactionJson {
  if (t.payment_channel === 'other') return t
  const hash = fnv1a(t.transaction_id)
  return {
    ...t,
    authorized_datetime: t.authorized_datetime ?? `${t.authorized_date}T${clock(hash % 43_200)}Z`,
    datetime: `${t.date}T${clock(43_200 + ((hash >>> 16) % 43_200))}Z`,
  }
}

const clock = (seconds: number) => new Date(seconds * 1000).toISOString().slice(11, 19)

function fnv1a(text: string): number {
  let hash = 2166136261
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619)
  return hash >>> 0
}

const slug = (name: string) =>
  name
    .toLowerCase()
    .replace(/'/g, '')
    .replace(/[^a-z0-9]+/g, '_')
