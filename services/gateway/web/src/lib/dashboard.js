// The staff dashboards' figures as tables: every chart is drawn from its table, and the table is what the screen
// shows under the chart and what its CSV export holds, cell for cell. Headers and labels are in both languages
// (Chinese first, English second) whatever the reader's language, so a spreadsheet reads the same for everyone.
// Pure: the ledger's and the requests service's statistics in, tables out (integers and exact decimals only).
import zhCN from '../locales/zh-CN.json'
import en from '../locales/en.json'

export const BOM = '\uFEFF'
export const DEFAULT_WARN_BELOW_PERCENT = 100 // as shared/economy/health.py: the budget should cover every point

function lookup(tree, path) {
  return path.split('.').reduce((node, key) => node?.[key], tree)
}

/** "月份 Month": a label from both catalogues, Chinese first. */
export function both(path) {
  return `${lookup(zhCN, path)} ${lookup(en, path)}`
}

/** A table: bilingual headers for `columns` (keys of dashboards.columns) and rows of strings. */
export function table(columns, rows) {
  return { headers: columns.map((c) => both(`dashboards.columns.${c}`)),
    rows: rows.map((row) => row.map((v) => (v === null || v === undefined ? '' : String(v)))) }
}

function csvCell(value) {
  // A cell a spreadsheet would take for a formula is written as text (a leading apostrophe).
  const text = /^[=+@\t\r]/.test(value) || (/^-/.test(value) && !/^-\d/.test(value)) ? `'${value}` : value
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/** The CSV of a table: UTF-8 with a byte-order mark (so Excel reads the Chinese), CRLF line ends. */
export function toCsv({ headers, rows }) {
  return BOM + [headers, ...rows].map((line) => line.map(csvCell).join(',')).join('\r\n') + '\r\n'
}

function halfEven(numerator, denominator) {
  const q = numerator / denominator
  const r = numerator - q * denominator
  if (r * 2n > denominator || (r * 2n === denominator && q % 2n === 1n)) return q + 1n
  return q
}

/** part / whole × 100 to two places, half-even, exact (as shared.economy.health.as_percent); '' without a whole. */
export function percent(part, whole) {
  if (!whole) return ''
  const hundredths = halfEven(BigInt(part) * 10000n, BigInt(whole))
  const sign = hundredths < 0n ? '-' : ''
  const abs = hundredths < 0n ? -hundredths : hundredths
  return `${sign}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`
}

/** 1250 fen → "12.50" (yuan, exact). */
export function yuan(fen) {
  if (fen === null || fen === undefined) return ''
  const sign = fen < 0 ? '-' : ''
  const abs = Math.abs(Math.trunc(fen))
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`
}

const gridLabel = (gridName, id) => gridName(id) || id || both('dashboards.noGrid')

/** Participation rate per grid and month: members who took part / the grid's members. */
export function participation(ledger, gridName = () => '') {
  const rows = (ledger?.grids || []).map((g) => [g.month, gridLabel(gridName, g.grid_id), g.members, g.participants,
    percent(g.participants, g.members)])
  return table(['month', 'grid', 'members', 'participants', 'participationRate'], rows)
}

/** Points issued / redeemed / expired / penalised per month and outstanding at its end. */
export function flows(ledger) {
  return table(['month', 'issued', 'redeemed', 'expired', 'penalised', 'outstanding'],
    (ledger?.months || []).map((m) => [m.month, m.issued, m.redeemed, m.expired, m.penalised, m.outstanding]))
}

/** Outstanding points valued in fen against the sponsor budget: per month, and the latest ratio with its warning. */
export function coverage(ledger, pointValueFen, budgetFen, warnBelow = DEFAULT_WARN_BELOW_PERCENT) {
  const rows = (ledger?.months || []).map((m) => {
    const liability = m.outstanding * pointValueFen
    return [m.month, m.outstanding, yuan(liability), yuan(budgetFen), percent(budgetFen, liability)]
  })
  const last = rows.at(-1)
  const ratio = last ? last[4] : ''
  return { ...table(['month', 'outstanding', 'liabilityYuan', 'budgetYuan', 'coverageRatio'], rows), ratio,
    warnBelow, warning: ratio !== '' && Number(ratio) < warnBelow }
}

/** How concentrated the points are: holders, the top 10 % of holders' share, Gini. */
export function concentration(ledger) {
  const c = ledger?.concentration || {}
  return table(['figure', 'value'], [[both('dashboards.figures.holders'), c.holders],
    [both('dashboards.figures.top10Share'), c.top10_share], [both('dashboards.figures.gini'), c.gini]])
}

/** Points that expire within the next 30 and 90 days. */
export function expiring(ledger) {
  const e = ledger?.expiring || {}
  return table(['window', 'points'], [[both('dashboards.figures.next30'), e.next_30_days],
    [both('dashboards.figures.next90'), e.next_90_days]])
}

/** Requests per category over the range: posted, accepted, completed, time-to-accept median and p90 (minutes). */
export function requestsByCategory(requests) {
  return table(['category', 'posted', 'accepted', 'completed', 'acceptMedian', 'acceptP90'],
    (requests?.categories || []).map((c) => [both(`categories.${c.category}`), c.posted, c.accepted, c.completed,
      c.accept_median_minutes, c.accept_p90_minutes]))
}

/** Requests per month (every category): posted, accepted, completed and time-to-accept. */
export function requestsByMonth(requests) {
  return table(['month', 'posted', 'accepted', 'completed', 'acceptMedian', 'acceptP90'],
    (requests?.totals || []).map((m) => [m.month, m.posted, m.accepted, m.completed, m.accept_median_minutes,
      m.accept_p90_minutes]))
}

/** The grid × month heat map: points issued in each grid each month. */
export function heatmap(ledger, gridName = () => '') {
  return table(['grid', 'month', 'issued'],
    (ledger?.grids || []).map((g) => [gridLabel(gridName, g.grid_id), g.month, g.issued]))
}

// -- charts drawn from the tables (so a chart never shows a figure its table does not) -----------------------
const number = (cell) => (cell === '' ? null : Number(cell))
const distinct = (values) => [...new Set(values)]
const GRID = { left: 8, right: 16, top: 48, bottom: 8, containLabel: true }

/** One series per column of `values`, along column `x` (months, categories…). */
export function seriesOption(tbl, { x = 0, values, type = 'line', stack }) {
  return { tooltip: { trigger: 'axis' }, legend: { type: 'scroll' }, grid: GRID,
    xAxis: { type: 'category', data: tbl.rows.map((r) => r[x]) }, yAxis: { type: 'value' },
    series: values.map((i) => ({ name: tbl.headers[i], type, stack, data: tbl.rows.map((r) => number(r[i])) })) }
}

/** One series per distinct value of column `by` (a grid), along the distinct values of column `x` (months). */
export function pivotOption(tbl, { x, by, value, type = 'line' }) {
  const xs = distinct(tbl.rows.map((r) => r[x]))
  return { tooltip: { trigger: 'axis' }, legend: { type: 'scroll' }, grid: GRID,
    xAxis: { type: 'category', data: xs }, yAxis: { type: 'value', name: tbl.headers[value] },
    series: distinct(tbl.rows.map((r) => r[by])).map((name) => ({ name, type, connectNulls: true,
      data: xs.map((xv) => number(tbl.rows.find((r) => r[x] === xv && r[by] === name)?.[value] ?? '')) })) }
}

/** A heat map of column `value` over the distinct values of columns `x` (months) and `y` (grids). */
export function heatOption(tbl, { x, y, value }) {
  const xs = distinct(tbl.rows.map((r) => r[x])).sort()
  const ys = distinct(tbl.rows.map((r) => r[y]))
  const data = tbl.rows.map((r) => [xs.indexOf(r[x]), ys.indexOf(r[y]), number(r[value])])
  const max = Math.max(1, ...data.map((d) => d[2] || 0))
  return { tooltip: { position: 'top' }, grid: { ...GRID, bottom: 56 },
    xAxis: { type: 'category', data: xs, splitArea: { show: true } },
    yAxis: { type: 'category', data: ys, splitArea: { show: true } },
    visualMap: { min: 0, max, orient: 'horizontal', left: 'center', bottom: 0, itemHeight: 120 },
    series: [{ name: tbl.headers[value], type: 'heatmap', data, label: { show: true } }] }
}
