// What a ledger transfer is for, in words: the request, activity, shop item or gift behind it.
import { reactive } from 'vue'
import { api, session } from './session.js'
import { namesFromLines } from '../views/partners/partners.js'

const cache = reactive({})

async function lookup(kind, id) {
  if (kind === 'request') return (await api.get(`/requests/v1/requests/${id}`)).title
  if (kind === 'activity') return (await api.get(`/requests/v1/activities/${id}`)).title
  if (kind === 'redemption') {
    const redemption = await api.get(`/settlement/v1/redemptions/${id}`)
    const merchant = await api.get(`/settlement/v1/merchants/${redemption.merchant_id}`)
    if (redemption.item_id) {
      const item = await api.get(`/settlement/v1/items/${redemption.item_id}`)
      return { shop: merchant.name, title: `${merchant.name} · ${item.name}`, redemption }
    }
    if (redemption.charge_id) { // a bill paid in points (a shop's 收款码, a property fee): what it was for
      const charge = await api.get(`/settlement/v1/charges/${redemption.charge_id}`)
      return { shop: merchant.name, title: `${merchant.name} · ${charge.memo}`, redemption }
    }
    return { shop: merchant.name, title: merchant.name, redemption }
  }
  return null
}

/** {title, shop?, redemption?} for a transfer once known; null while loading or when nothing more is known. */
export function whatFor(transfer) {
  if (!transfer) return null
  const ref = transfer.reference
  if (!ref || !['request', 'activity', 'redemption'].includes(ref.kind)) {
    return transfer.memo ? { title: transfer.memo } : null
  }
  const id = `${ref.kind}:${ref.id}`
  if (!(id in cache)) {
    cache[id] = null
    lookup(ref.kind, ref.id).then((found) => {
      cache[id] = typeof found === 'string' ? { title: found } : found
    }).catch(() => {
      cache[id] = transfer.memo ? { title: transfer.memo } : null
    })
  }
  const found = cache[id]
  if (transfer.memo && found) return { ...found, title: transfer.memo }
  return found || (transfer.memo ? { title: transfer.memo } : null)
}

/** The member on the other side of a transfer from me. */
export function otherSide(transfer) {
  if (!transfer) return null
  return transfer.payer_id === session.memberId ? transfer.payee_id : transfer.payer_id
}

// Partner communities' names, from the trust lines of my community (read once).
const partnerNames = reactive({})
let partnersAsked = false

/** A partner community's name (its id until the trust lines are read). */
export function partnerName(communityId) {
  if (!partnersAsked) {
    partnersAsked = true
    api.get('/exchange/v1/trust-lines').then((lines) => Object.assign(partnerNames, namesFromLines(lines)))
      .catch(() => { partnersAsked = false })
  }
  return partnerNames[communityId] || communityId
}

/** A cross-community transfer seen from my community: what I (my side) move, and the partner community. */
export function acrossFromHere(transfer) {
  const c = transfer?.cross
  if (!c) return null
  const payeeSide = c.payee_community === session.communityId
  return { mine: payeeSide ? c.credit_amount : c.debit_amount,
    partner: payeeSide ? c.payer_community : c.payee_community, pays: c.debit_amount, gets: c.credit_amount }
}
