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
