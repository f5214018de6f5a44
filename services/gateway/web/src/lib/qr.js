// What our QR codes carry. The requests service defines the check-in/out one; the others are the app's own.
const CHECK = /^timebank:\/\/(checkin|checkout)\/([A-Za-z0-9_-]{1,64})\/([0-9]{6})$/
const PAY = /^timebank:\/\/pay\/([A-Za-z0-9_-]{1,64})\/([A-Za-z0-9]{4,32})$/
const APPROVE = /^timebank:\/\/approve\/([A-Za-z0-9_-]{1,64})$/
const RECEIVE = /^timebank:\/\/receive\/([A-Za-z0-9_-]{1,64})(?:\?(.*))?$/

/** My pay code for the till: who I am and the one-time code. */
export const payCodeQr = (memberId, code) => `timebank://pay/${memberId}/${code}`
/** A till's charge for the member to approve on their own phone. */
export const approveQr = (transferId) => `timebank://approve/${transferId}`
/** My receiving code (收款码): pay me this unit and amount. */
export function receiveQr(memberId, unit, amount) {
  const query = new URLSearchParams()
  if (unit) query.set('unit', unit)
  if (amount) query.set('amount', String(amount))
  const text = query.toString()
  return `timebank://receive/${memberId}${text ? `?${text}` : ''}`
}

/** What a scanned or typed text means, or null. */
export function parseQr(text) {
  const value = String(text || '').trim()
  let m = CHECK.exec(value)
  if (m) return { kind: 'check', purpose: m[1], requestId: m[2], code: m[3] }
  m = PAY.exec(value)
  if (m) return { kind: 'pay', memberId: m[1], code: m[2] }
  m = APPROVE.exec(value)
  if (m) return { kind: 'approve', transferId: m[1] }
  m = RECEIVE.exec(value)
  if (m) {
    const query = new URLSearchParams(m[2] || '')
    const amount = Number(query.get('amount'))
    return { kind: 'receive', memberId: m[1], unit: ['HOUR', 'PT'].includes(query.get('unit')) ? query.get('unit') : null,
      amount: Number.isInteger(amount) && amount > 0 ? amount : null }
  }
  return null
}
