import { formatAmount } from './format.js'

// Paying a resident of another deployment (联网转账, Credit Commons): the payee's address, the amount in the
// ledger's integer units, and a transfer's state in words. Pure: services/exchange/README.md, "Federation".

// An address is <node path>/<community code>/<account>, e.g. hub/taoyuan/wang_fix: one or more node names, then
// the community's code and the member's public handle. Another implementation of the protocol may name its
// accounts differently (upper case, dots), so each part is only held to what an address may carry.
const PART = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/
export const ADDRESS_MAX = 300 // CcTransferArgsSchema.payee
export const ADDRESS_EXAMPLE = 'hub/taoyuan/wang_fix'

/**
 * The address a person typed, checked: `{ address, node, code, handle }`, or `{ error }` where error is one of
 * empty, shape (fewer than three parts, or an empty one), part (a part with a space, a Chinese character or any
 * other character an address does not carry), long. Spaces around it and around its slashes, and a slash at
 * either end, are dropped (the exchange drops the end slashes too).
 */
export function parseAddress(text) {
  const trimmed = String(text ?? '').trim().replace(/^\/+|\/+$/g, '')
  if (!trimmed) return { error: 'empty' }
  const parts = trimmed.split('/').map((part) => part.trim())
  if (parts.length < 3 || parts.some((part) => !part)) return { error: 'shape' }
  if (!parts.every((part) => PART.test(part))) return { error: 'part' }
  const address = parts.join('/')
  if (address.length > ADDRESS_MAX) return { error: 'long' }
  return { address, node: parts.slice(0, -2).join('/'), code: parts[parts.length - 2], handle: parts[parts.length - 1] }
}

const WHOLE = /^\s*(\d{1,9})\s*$/
const AMOUNT_MAX = 10 ** 12 // CcTransferArgsSchema.amount

function whole(text) {
  if (text === undefined || text === null || String(text).trim() === '') return 0
  const match = WHOLE.exec(String(text))
  return match ? Number(match[1]) : null
}

/**
 * What the API takes (`amount`: minutes for HOUR, points for PT) from what a person typed: hours and minutes
 * (minutes 0–59; either may be left empty) or points. null when it is not a whole amount of at least 1.
 */
export function ledgerAmount(unit, { hours = '', minutes = '', points = '' } = {}) {
  let value
  if (unit === 'HOUR') {
    const h = whole(hours)
    const m = whole(minutes)
    if (h === null || m === null || m > 59) return null
    value = h * 60 + m
  } else if (unit === 'PT') {
    value = whole(points)
    if (value === null) return null
  } else {
    return null
  }
  return value >= 1 && value <= AMOUNT_MAX ? value : null
}

// The exchange's states (services/exchange/cctransfer.py); the last four never change again.
export const CC_STATES = ['new', 'validated', 'held', 'pending', 'completed', 'refused', 'refusing', 'erased',
  'timedout']
export const FINAL_STATES = new Set(['completed', 'refused', 'erased', 'timedout'])

export const isFinal = (transfer) => FINAL_STATES.has(transfer?.state)

/** The message key for a transfer's state (ccState.<state>; an unknown one is said as "being processed"). */
export function stateKey(state) {
  return CC_STATES.includes(state) ? `ccState.${state}` : 'ccState.unknown'
}

/** A transfer seen by its resident: the signed amount (paid is negative) and the address on the other side. */
export function fromMySide(transfer) {
  const paid = transfer.direction === 'out'
  return { amount: paid ? -transfer.amount : transfer.amount, other: paid ? transfer.payee : transfer.payer }
}

/** The signed amount in words: "-1 小时 30 分钟" paid, "+20 分" received. */
export function signedWords(transfer, locale = 'zh-CN') {
  const { amount } = fromMySide(transfer)
  return `${amount > 0 ? '+' : ''}${formatAmount(transfer.unit, amount, locale)}`
}

/** The list with one transfer put in (new ones first, a known one replaced in place). */
export function withTransfer(list, transfer) {
  const items = list || []
  if (items.some((t) => t.uuid === transfer.uuid)) return items.map((t) => (t.uuid === transfer.uuid ? transfer : t))
  return [transfer, ...items]
}

/**
 * My addresses (GET /exchange/v1/federation/address: one row per grafted unit) as a person reads them: each
 * distinct address once, with the units it receives, in the order the exchange lists them (usually one address
 * for both units). `[]` when this deployment is not federated.
 */
export function addressesToShow(rows) {
  const shown = new Map()
  for (const row of rows || []) {
    if (!row?.address) continue
    if (!shown.has(row.address)) shown.set(row.address, { address: row.address, units: [] })
    if (!shown.get(row.address).units.includes(row.unit)) shown.get(row.address).units.push(row.unit)
  }
  return [...shown.values()]
}
