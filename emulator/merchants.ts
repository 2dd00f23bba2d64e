/**
 * The kinds of transaction an emulated Item's history is drawn from: each merchant (or bank entry)
 * with what Plaid's enrichment says of it (website, location, category) and the accounts it uses.
 */

export type PaymentChannel = 'online' | 'in store' | 'other'

export type Counterparty = {
  name: string
  type: 'merchant' | 'financial_institution' | 'payment_app' | 'marketplace' | 'payment_terminal' | 'income_source'
  logo_url: string | null
  website: string | null
  entity_id: string | null
  confidence_level: string
}

export type Location = {
  address: string | null
  city: string | null
  region: string | null
  postal_code: string | null
  country: string | null
  lat: number | null
  lon: number | null
  store_number: string | null
}

export type AccountKind = 'card' | 'checking' | 'savings'

/** A kind of transaction: who, how much, which category, and from which kind of account. */
export type Template = {
  name: string
  original: string
  merchant: string | null
  website?: string
  counterpartyType?: Counterparty['type']
  /**
   * Who the payment went through, when the description names them (a card terminal, a
   * marketplace): Plaid lists them as a counterparty of their own, before the merchant.
   */
  via?: { name: string; type: Counterparty['type']; website: string }
  pfc: [primary: string, detailed: string]
  channel: PaymentChannel
  amount: [min: number, max: number]
  accounts: AccountKind[]
  location?: Partial<Location>
  /** How often it occurs relative to the others. */
  weight: number
}

// Modelled on the descriptions Plaid's Sandbox Items show; categories from Plaid's PFC (v1) taxonomy.
export const TEMPLATES: Template[] = [
  {
    name: 'Starbucks',
    original: 'STARBUCKS STORE 10432 SAN FRANCISCO CA',
    merchant: 'Starbucks',
    website: 'starbucks.com',
    pfc: ['FOOD_AND_DRINK', 'FOOD_AND_DRINK_COFFEE'],
    channel: 'in store',
    amount: [3.25, 9.75],
    accounts: ['card', 'checking'],
    location: { city: 'San Francisco', region: 'CA', country: 'US', store_number: '10432' },
    weight: 8,
  },
  {
    name: "McDonald's",
    original: "MCDONALD'S F2941 OAKLAND CA",
    merchant: "McDonald's",
    website: 'mcdonalds.com',
    pfc: ['FOOD_AND_DRINK', 'FOOD_AND_DRINK_FAST_FOOD'],
    channel: 'in store',
    amount: [6, 18],
    accounts: ['card', 'checking'],
    location: { city: 'Oakland', region: 'CA', country: 'US', store_number: '2941' },
    weight: 5,
  },
  {
    name: 'Thai Basil Restaurant',
    original: 'SQ *THAI BASIL RESTAURANT',
    merchant: 'Thai Basil',
    via: { name: 'Square', type: 'payment_terminal', website: 'squareup.com' },
    pfc: ['FOOD_AND_DRINK', 'FOOD_AND_DRINK_RESTAURANT'],
    channel: 'in store',
    amount: [18, 64],
    accounts: ['card'],
    weight: 4,
  },
  {
    name: 'Whole Foods Market',
    original: 'WHOLEFDS MKT 10155 BERKELEY CA',
    merchant: 'Whole Foods',
    website: 'wholefoodsmarket.com',
    pfc: ['FOOD_AND_DRINK', 'FOOD_AND_DRINK_GROCERIES'],
    channel: 'in store',
    amount: [22, 180],
    accounts: ['card', 'checking'],
    location: {
      address: '3000 Telegraph Ave',
      city: 'Berkeley',
      region: 'CA',
      postal_code: '94705',
      country: 'US',
      lat: 37.855,
      lon: -122.26,
      store_number: '10155',
    },
    weight: 6,
  },
  {
    name: 'PURCHASE WM SUPERCENTER #1700',
    original: 'PURCHASE WM SUPERCENTER #1700 POWAY CA',
    merchant: 'Walmart',
    website: 'walmart.com',
    pfc: ['GENERAL_MERCHANDISE', 'GENERAL_MERCHANDISE_SUPERSTORES'],
    channel: 'in store',
    amount: [12, 140],
    accounts: ['card', 'checking'],
    location: { city: 'Poway', region: 'CA', country: 'US', store_number: '1700' },
    weight: 4,
  },
  {
    name: 'AMZN Mktp US',
    original: 'AMZN MKTP US*2K4L81TT3 AMZN.COM/BILL WA',
    merchant: 'Amazon',
    website: 'amazon.com',
    pfc: ['GENERAL_MERCHANDISE', 'GENERAL_MERCHANDISE_ONLINE_MARKETPLACES'],
    channel: 'online',
    amount: [8, 220],
    accounts: ['card'],
    weight: 6,
  },
  {
    name: 'Uber 063015 SF**POOL**',
    original: 'UBER 063015 SF**POOL** HELP.UBER.COM CA',
    merchant: 'Uber',
    website: 'uber.com',
    pfc: ['TRANSPORTATION', 'TRANSPORTATION_TAXIS_AND_RIDE_SHARES'],
    channel: 'online',
    amount: [6.33, 42],
    accounts: ['card'],
    weight: 4,
  },
  {
    name: 'Shell',
    original: 'SHELL OIL 57444139 DALY CITY CA',
    merchant: 'Shell',
    website: 'shell.com',
    pfc: ['TRANSPORTATION', 'TRANSPORTATION_GAS'],
    channel: 'in store',
    amount: [28, 75],
    accounts: ['card', 'checking'],
    location: { city: 'Daly City', region: 'CA', country: 'US', store_number: '57444139' },
    weight: 3,
  },
  {
    name: 'United Airlines',
    original: 'UNITED 0162335542771 UNITED.COM TX',
    merchant: 'United Airlines',
    website: 'united.com',
    pfc: ['TRAVEL', 'TRAVEL_FLIGHTS'],
    channel: 'online',
    amount: [180, 640],
    accounts: ['card'],
    weight: 1,
  },
  {
    name: 'Netflix',
    original: 'NETFLIX.COM LOS GATOS CA',
    merchant: 'Netflix',
    website: 'netflix.com',
    pfc: ['ENTERTAINMENT', 'ENTERTAINMENT_TV_AND_MOVIES'],
    channel: 'online',
    amount: [15.49, 15.49],
    accounts: ['card'],
    weight: 1,
  },
  {
    name: 'Spotify',
    original: 'SPOTIFY USA 877-7781161 NY',
    merchant: 'Spotify',
    website: 'spotify.com',
    pfc: ['ENTERTAINMENT', 'ENTERTAINMENT_MUSIC_AND_AUDIO'],
    channel: 'online',
    amount: [10.99, 10.99],
    accounts: ['card'],
    weight: 1,
  },
  {
    name: 'Touchstone Climbing',
    original: 'TOUCHSTONE CLIMBING INC BERKELEY CA',
    merchant: 'Touchstone Climbing',
    website: 'touchstoneclimbing.com',
    pfc: ['PERSONAL_CARE', 'PERSONAL_CARE_GYMS_AND_FITNESS_CENTERS'],
    channel: 'in store',
    amount: [78.5, 78.5],
    accounts: ['card', 'checking'],
    weight: 1,
  },
  {
    name: 'Verizon Wireless',
    original: 'VZWRLSS*APOCC VISB 800-922-0204 FL',
    merchant: 'Verizon',
    website: 'verizon.com',
    pfc: ['RENT_AND_UTILITIES', 'RENT_AND_UTILITIES_TELEPHONE'],
    channel: 'online',
    amount: [65, 95],
    accounts: ['checking', 'card'],
    weight: 1,
  },
  {
    name: 'PG&E',
    original: 'PGANDE WEB ONLINE PAYMENT',
    merchant: 'PG&E',
    website: 'pge.com',
    pfc: ['RENT_AND_UTILITIES', 'RENT_AND_UTILITIES_GAS_AND_ELECTRICITY'],
    channel: 'online',
    amount: [60, 190],
    accounts: ['checking'],
    weight: 1,
  },
  {
    name: 'ACH Electronic CreditGUSTO PAY 123456',
    original: 'ACH ELECTRONIC CREDIT GUSTO PAY 123456 PPD ID: 1453489876',
    merchant: 'Gusto',
    website: 'gusto.com',
    counterpartyType: 'income_source',
    pfc: ['INCOME', 'INCOME_WAGES'],
    channel: 'other',
    amount: [-2400, -1850],
    accounts: ['checking'],
    weight: 2,
  },
  {
    name: 'CREDIT CARD 3333 PAYMENT *//',
    original: 'CREDIT CARD 3333 PAYMENT *//',
    merchant: null,
    pfc: ['LOAN_PAYMENTS', 'LOAN_PAYMENTS_CREDIT_CARD_PAYMENT'],
    channel: 'other',
    amount: [120, 600],
    accounts: ['checking'],
    weight: 1,
  },
  {
    name: 'Transfer to Plaid Saving',
    original: 'ONLINE TRANSFER TO SAV XXXXXX1111',
    merchant: null,
    pfc: ['TRANSFER_OUT', 'TRANSFER_OUT_ACCOUNT_TRANSFER'],
    channel: 'other',
    amount: [50, 500],
    accounts: ['checking'],
    weight: 1,
  },
  {
    name: 'Transfer from Plaid Checking',
    original: 'ONLINE TRANSFER FROM CHK XXXXXX0000',
    merchant: null,
    pfc: ['TRANSFER_IN', 'TRANSFER_IN_ACCOUNT_TRANSFER'],
    channel: 'other',
    amount: [-500, -50],
    accounts: ['savings'],
    weight: 1,
  },
  {
    name: 'INTRST PYMNT',
    original: 'INTEREST PAYMENT',
    merchant: null,
    pfc: ['INCOME', 'INCOME_INTEREST_EARNED'],
    channel: 'other',
    amount: [-4.5, -0.12],
    accounts: ['savings'],
    weight: 1,
  },
  {
    name: 'ATM FEE',
    original: 'NON-CHASE ATM FEE-WITH 0412',
    merchant: null,
    pfc: ['BANK_FEES', 'BANK_FEES_ATM_FEES'],
    channel: 'other',
    amount: [2.5, 3.5],
    accounts: ['checking'],
    weight: 1,
  },
]
