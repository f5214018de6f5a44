// Amounts in words: HOUR amounts are minutes, PT amounts are points, money is fen (integers everywhere).
const WORDS = {
  'zh-CN': { h: '小时', min: '分钟', pt: '分', sep: ' ' },
  en: { h: 'h', min: 'min', pt: 'pts', sep: ' ' },
}

function words(locale) {
  return WORDS[locale] || WORDS['zh-CN']
}

/** "1 小时 30 分钟" / "1 h 30 min" for a number of minutes (negative keeps its sign). */
export function formatDuration(minutes, locale = 'zh-CN') {
  if (minutes === null || minutes === undefined) return '∞'
  const w = words(locale)
  const sign = minutes < 0 ? '-' : ''
  const abs = Math.abs(Math.trunc(minutes))
  const h = Math.floor(abs / 60)
  const m = abs % 60
  const parts = []
  if (h) parts.push(`${h} ${w.h}`)
  if (m || !h) parts.push(`${m} ${w.min}`)
  return sign + parts.join(w.sep)
}

/** "50 分" / "50 pts". */
export function formatPoints(points, locale = 'zh-CN') {
  if (points === null || points === undefined) return '∞'
  const w = words(locale)
  return `${points} ${w.pt}`
}

/** An amount of a ledger unit in words. */
export function formatAmount(unit, value, locale = 'zh-CN') {
  return unit === 'HOUR' ? formatDuration(value, locale) : formatPoints(value, locale)
}

/** ¥12.50 from 1250 fen (exact: integer arithmetic only). */
export function formatFen(fen) {
  if (fen === null || fen === undefined) return ''
  const sign = fen < 0 ? '-' : ''
  const abs = Math.abs(Math.trunc(fen))
  return `${sign}¥${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`
}

/** Yuan typed by a person ("12.5", "12.50", "12") to whole fen, or null when it is not an amount. */
export function parseYuan(text) {
  const match = /^\s*(\d{1,9})(?:\.(\d{0,2}))?\s*$/.exec(String(text ?? ''))
  if (!match) return null
  return Number(match[1]) * 100 + Number((match[2] || '').padEnd(2, '0'))
}

function halfEven(numerator, denominator) {
  const q = Math.floor(numerator / denominator)
  const r = numerator - q * denominator
  if (r * 2 > denominator || (r * 2 === denominator && q % 2 === 1)) return q + 1
  return q
}

/** The settlement service's rule: at most share_bp/10000 of the bill (half-even fen) may be paid in points. */
export function maxPointsForBill(billFen, shareBp, rateFenPerPoint) {
  if (!billFen || !shareBp || !rateFenPerPoint) return 0
  return Math.floor(halfEven(billFen * shareBp, 10000) / rateFenPerPoint)
}

/** A date-time in the reader's language. */
export function formatTime(iso, locale = 'zh-CN') {
  if (!iso) return ''
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return ''
  return new Intl.DateTimeFormat(locale, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })
    .format(date)
}

/** Minutes between two instants (rounded down), for prefilling a claim. */
export function minutesBetween(startIso, endIso) {
  if (!startIso || !endIso) return null
  return Math.max(0, Math.floor((new Date(endIso) - new Date(startIso)) / 60000))
}
