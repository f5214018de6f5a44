// What the partner screens share: amounts in a trust line's measure and a line seen from my community's side
// (`me`: my community's id). Pure, so the sign conventions are unit-tested (tests/partners.test.js).
import { formatDuration, formatFen } from '../../lib/format.js'

export const PERIODS = ['daily', 'weekly', 'monthly']

/** A net limit, position or headroom in words: HOUR in minutes, PT in fen of cash value. */
export function formatMeasure(unit, value, locale) {
  return unit === 'HOUR' ? formatDuration(value, locale) : formatFen(value)
}

/** My community's side of a trust line ('a' or 'b'). */
function side(line, me) {
  return line.community_a?.community_id === me ? 'a' : 'b'
}

/** The partner community of a trust line: { community_id, code, name, point_value_fen }. */
export function partnerOf(line, me) {
  return side(line, me) === 'a' ? line.community_b : line.community_a
}

/** My community on a trust line. */
export function myCommunityOn(line, me) {
  return side(line, me) === 'a' ? line.community_a : line.community_b
}

/** The net position seen from my side, in the measure: > 0 when my community owes the partner. */
export function owedByUs(line, me) {
  const net = line.position?.net || 0
  return side(line, me) === 'a' ? net : 0 - net
}

/** The fen value of a point on each side of a line (PT lines), from its current rate. */
export function pointValues(line, me) {
  const { a_point_value_fen: a, b_point_value_fen: b } = line.rate || {}
  return side(line, me) === 'a' ? { mine: a, theirs: b } : { mine: b, theirs: a }
}

/** A clearing record in words: who owes whom how much (settled in cash between the two communities). */
export function describeClearing(t, record, names, locale) {
  if (!record.debtor_id) return t('partners.clearings.even')
  return t('partners.clearings.owes', { debtor: names[record.debtor_id] || record.debtor_id,
    creditor: names[record.creditor_id] || record.creditor_id,
    amount: formatMeasure(record.unit, record.amount_due, locale) })
}

/** Community id → name, from trust lines (which carry both communities). */
export function namesFromLines(lines) {
  const names = {}
  for (const line of lines || []) {
    for (const c of [line.community_a, line.community_b]) if (c?.community_id) names[c.community_id] = c.name || c.code
  }
  return names
}
