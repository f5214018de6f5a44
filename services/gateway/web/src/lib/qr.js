// What our QR codes carry: the one definition of the payload format (docs/qr-codes.md says the same in words).
//
// Version 1 (the app's own codes), `timebank://v1/<kind>/<id>[?query]`:
//   pay/<CODE>               付款码: a member's one-time pay code (the till reads the member from the code)
//   approve/<transfer_id>    a till's charge already made for a known member, to approve on their phone
//   charge/<charge_id>       收款码 of a shop or a property-fee bill: who asks, what for and how much are read
//                            from the settlement service by the id, so nothing a payer relies on is in the code
//   receive/<member_id>?unit=HOUR|PT&amount=<int>&memo=<text>
//                            a neighbour's 收款码: the amount and memo only prefill the gift form; the payer sees
//                            the neighbour's name from the directory and the amount in words before approving
// None is signed: every code either names something the server looks up (and the ledger still asks the payer to
// approve), or only suggests what the payer reads and can change. A forged code can at worst suggest a wrong
// amount to someone who sees it before approving. The requests service defines the check-in/out codes
// (`timebank://checkin|checkout/<request>/<6 digits>`, unversioned); they are read here too.
export const QR_VERSION = 'v1'
const ID = '[A-Za-z0-9_-]{1,64}'
const PREFIX = `timebank://${QR_VERSION}/`
const CHECK = /^timebank:\/\/(checkin|checkout)\/([A-Za-z0-9_-]{1,64})\/([0-9]{6})$/
const V1 = new RegExp(`^timebank://v1/(pay|approve|charge|receive)/(${ID})(?:\\?(.*))?$`)
const PAY_CODE = /^[A-Za-z0-9]{4,32}$/
const MEMO_MAX = 60

/** My pay code for the till: the one-time code alone (it names me to the settlement service). */
export const payCodeQr = (code) => `${PREFIX}pay/${code}`
/** A till's charge for the member to approve on their own phone. */
export const approveQr = (transferId) => `${PREFIX}approve/${transferId}`
/** A shop's 收款码 or a property-fee bill: its id only. */
export const chargeQr = (chargeId) => `${PREFIX}charge/${chargeId}`
/** My receiving code (收款码): pay me this unit and amount, for this. */
export function receiveQr(memberId, unit, amount, memo) {
  const query = new URLSearchParams()
  if (unit) query.set('unit', unit)
  if (amount) query.set('amount', String(amount))
  if (memo) query.set('memo', String(memo).slice(0, MEMO_MAX))
  const text = query.toString()
  return `${PREFIX}receive/${memberId}${text ? `?${text}` : ''}`
}

function receiveOf(memberId, queryText) {
  const query = new URLSearchParams(queryText || '')
  const amount = Number(query.get('amount'))
  const memo = (query.get('memo') || '').trim().slice(0, MEMO_MAX)
  return { kind: 'receive', memberId, unit: ['HOUR', 'PT'].includes(query.get('unit')) ? query.get('unit') : null,
    amount: Number.isInteger(amount) && amount > 0 ? amount : null, memo: memo || null }
}

/** What a scanned or typed text means, or null (another version, another app, or a malformed code). */
export function parseQr(text) {
  const value = String(text || '').trim()
  const check = CHECK.exec(value)
  if (check) return { kind: 'check', purpose: check[1], requestId: check[2], code: check[3] }
  const m = V1.exec(value)
  if (!m) return null
  const [, kind, id, query] = m
  if (kind === 'receive') return receiveOf(id, query)
  if (query !== undefined) return null
  if (kind === 'pay') return PAY_CODE.test(id) ? { kind, code: id } : null
  if (kind === 'approve') return { kind, transferId: id }
  return { kind: 'charge', chargeId: id }
}
