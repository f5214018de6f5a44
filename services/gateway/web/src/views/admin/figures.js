// A simulation's figures side by side (the same the dashboards show): current, proposed and the change. Pure
// (tests/figures.test.js).

const TOTALS = ['issued', 'redeemed', 'expired', 'penalised', 'outstanding', 'owed']

function signed(n) {
  return n > 0 ? `+${n}` : String(n)
}

function percent(value) {
  return value === null || value === undefined ? '—' : `${value}%`
}

/** Rows {key, current, proposed, change} of a finished simulation's result (fen shown by `fen`). */
export function simulationRows(result, fen) {
  if (!result) return []
  const { current: a, proposed: b } = result
  const rows = TOTALS.map((key) => ({ key, current: a.totals[key], proposed: b.totals[key],
    change: signed(b.totals[key] - a.totals[key]) }))
  const liability = (x) => x.coverage.liability_fen
  rows.push({ key: 'liability', current: fen(liability(a)), proposed: fen(liability(b)),
    change: (liability(b) >= liability(a) ? '+' : '−') + fen(Math.abs(liability(b) - liability(a))) })
  rows.push({ key: 'coverage', current: percent(a.coverage.ratio_percent), proposed: percent(b.coverage.ratio_percent),
    change: b.coverage.warning ? '⚠' : '' })
  rows.push({ key: 'top10', current: percent(a.concentration.top10_share_percent),
    proposed: percent(b.concentration.top10_share_percent), change: '' })
  rows.push({ key: 'gini', current: a.concentration.gini ?? '—', proposed: b.concentration.gini ?? '—', change: '' })
  for (const days of Object.keys(a.expiring || {})) {
    rows.push({ key: `expiring${days}`, current: a.expiring[days], proposed: b.expiring[days],
      change: signed(b.expiring[days] - a.expiring[days]) })
  }
  for (const key of ['count', 'held_for_review']) {
    rows.push({ key: `awards_${key}`, current: a.awards[key], proposed: b.awards[key],
      change: signed(b.awards[key] - a.awards[key]) })
  }
  return rows
}

/** "5:60, 4:25, 3:10" (or with ：/，, spaces) → {"5": 60, "4": 25, "3": 10}; null when blank; throws on a bad pair. */
export function weightsFrom(text) {
  const pairs = String(text || '').split(/[,，;；\s]+/).filter(Boolean)
  if (!pairs.length) return null
  const out = {}
  for (const pair of pairs) {
    const m = /^([a-z0-9_]{1,40})[:：](\d{1,6})$/.exec(pair)
    if (!m) throw new Error(pair)
    out[m[1]] = Number(m[2])
  }
  return out
}

/** The synthetic community a simulation runs over, from the form's text fields: blank fields are left out (the
 * service's defaults apply); yuan become fen; distributions are "key:weight" lists. Throws Error(field) on one
 * it cannot read. */
export function simulationCommunity(form) {
  const out = {}
  for (const key of ['households', 'months', 'grids', 'participation_start_percent', 'participation_end_percent']) {
    const text = String(form[key] ?? '').trim()
    if (text === '') continue
    if (!/^\d{1,6}$/.test(text)) throw new Error(key)
    out[key] = Number(text)
  }
  const budget = String(form.budget_yuan ?? '').trim()
  if (budget !== '') {
    if (!/^\d{1,9}$/.test(budget)) throw new Error('budget_yuan')
    out.budget_fen = Number(budget) * 100
  }
  for (const key of ['activity_mix', 'ratings']) {
    try {
      const weights = weightsFrom(form[key])
      if (weights) out[key] = weights
    } catch {
      throw new Error(key)
    }
  }
  return out
}
