import { describe, expect, it } from 'vitest'
import * as d from '../src/lib/dashboard.js'

// The ledger's statistics contract (GET /ledger/v1/admin/economy/stats) and the requests service's.
const LEDGER = {
  community_id: 'c1', from: '2026-01', to: '2026-02',
  months: [{ month: '2026-01', issued: 1200, redeemed: 300, expired: 0, penalised: 20, outstanding: 880, participants: 9, members: 30 },
    { month: '2026-02', issued: 900, redeemed: 500, expired: 80, penalised: 0, outstanding: 1200, participants: 12, members: 30 }],
  grids: [{ grid_id: 'g1', month: '2026-01', issued: 700, participants: 5, members: 15 },
    { grid_id: 'g2', month: '2026-01', issued: 500, participants: 4, members: 15 },
    { grid_id: 'g1', month: '2026-02', issued: 900, participants: 12, members: 15 },
    { grid_id: null, month: '2026-02', issued: 0, participants: 0, members: 0 }],
  concentration: { holders: 21, top10_share: '0.4123', gini: '0.5312' },
  expiring: { next_30_days: 150, next_90_days: 420 },
}
const REQUESTS = {
  community_id: 'c1', from: '2026-01', to: '2026-02', grid_id: null,
  months: [],
  categories: [{ category: 'errands', posted: 4, accepted: 3, completed: 1, accept_median_minutes: 20, accept_p90_minutes: 30 },
    { category: 'tutoring', posted: 1, accepted: 0, completed: 0, accept_median_minutes: null, accept_p90_minutes: null }],
  totals: [{ month: '2026-01', posted: 0, accepted: 0, completed: 0, accept_median_minutes: null, accept_p90_minutes: null },
    { month: '2026-02', posted: 5, accepted: 3, completed: 1, accept_median_minutes: 20, accept_p90_minutes: 30 }],
}
const names = (id) => ({ g1: '一网格', g2: '二网格' }[id] || '')

describe('dashboard tables', () => {
  it('say participation per grid and month as an exact half-even percent', () => {
    const t = d.participation(LEDGER, names)
    expect(t.headers).toEqual(['月份 Month', '网格 Grid', '成员数 Members', '参与人数 Participants', '参与率（%） Participation (%)'])
    expect(t.rows).toEqual([['2026-01', '一网格', '15', '5', '33.33'], ['2026-01', '二网格', '15', '4', '26.67'],
      ['2026-02', '一网格', '15', '12', '80.00'], ['2026-02', '未分网格 No grid', '0', '0', '']])
  })

  it('value outstanding points in yuan against the budget, with a warning below the threshold', () => {
    // 1200 points x 10 fen = ¥120.00 outstanding; a ¥90.00 budget covers 75.00 %.
    const t = d.coverage(LEDGER, 10, 9000)
    expect(t.rows).toEqual([['2026-01', '880', '88.00', '90.00', '102.27'], ['2026-02', '1200', '120.00', '90.00', '75.00']])
    expect([t.ratio, t.warning, t.warnBelow]).toEqual(['75.00', true, 100])
    expect(d.coverage(LEDGER, 10, 12000).warning).toBe(false)
    expect(d.coverage({ months: [{ month: '2026-03', outstanding: 0 }] }, 10, 500).rows[0][4]).toBe('')
  })

  it('percent rounds half to even, exactly', () => {
    expect(d.percent(1, 8)).toBe('12.50')
    expect(d.percent(1, 3)).toBe('33.33')
    expect(d.percent(2, 3)).toBe('66.67')
    expect(d.percent(1, 80000)).toBe('0.00') // 0.00125 -> 0.00 (half to even)
    expect(d.percent(3, 80000)).toBe('0.00') // 0.00375 -> 0.00
    expect(d.percent(5, 80000)).toBe('0.01') // 0.00625 -> 0.01
    expect(d.percent(1, 0)).toBe('')
    expect(d.yuan(123456)).toBe('1234.56')
  })

  it('give flows, concentration, expiry, requests and the heat map their rows', () => {
    expect(d.flows(LEDGER).rows[1]).toEqual(['2026-02', '900', '500', '80', '0', '1200'])
    expect(d.concentration(LEDGER).rows).toEqual([['持分人数 Holders', '21'], ['前 10% 持有份额 Top 10 % share', '0.4123'],
      ['基尼系数 Gini coefficient', '0.5312']])
    expect(d.expiring(LEDGER).rows).toEqual([['30 天内 Within 30 days', '150'], ['90 天内 Within 90 days', '420']])
    expect(d.requestsByCategory(REQUESTS).rows).toEqual([['跑腿代办 Errands', '4', '3', '1', '20', '30'],
      ['辅导功课 Tutoring', '1', '0', '0', '', '']])
    expect(d.requestsByMonth(REQUESTS).rows[0]).toEqual(['2026-01', '0', '0', '0', '', ''])
    expect(d.heatmap(LEDGER, names).rows[0]).toEqual(['一网格', '2026-01', '700'])
    expect(d.flows(null).rows).toEqual([])
  })
})

describe('CSV of a table', () => {
  it('is UTF-8 with a BOM, bilingual headers first, CRLF, the table cell for cell', () => {
    const csv = d.toCsv(d.requestsByCategory(REQUESTS))
    expect(csv.startsWith('\uFEFF')).toBe(true)
    expect(csv.slice(1).split('\r\n')).toEqual([
      '类别 Category,发布 Posted,被接 Accepted,完成 Completed,"接单等待中位数（分钟） Wait to accept, median (min)",'
        + '"接单等待 P90（分钟） Wait to accept, p90 (min)"',
      '跑腿代办 Errands,4,3,1,20,30', '辅导功课 Tutoring,1,0,0,,', ''])
  })

  it('quotes commas, quotes and line breaks, and never lets a cell be a formula', () => {
    const csv = d.toCsv({ headers: ['a', 'b'], rows: [['x,y', 'say "hi"'], ['=SUM(A1)', '-12'], ['line\nbreak', '-x']] })
    expect(csv).toBe('\uFEFFa,b\r\n"x,y","say ""hi"""\r\n\'=SUM(A1),-12\r\n"line\nbreak",\'-x\r\n')
  })
})

describe('charts drawn from the tables', () => {
  it('plot the table\'s own numbers', () => {
    const flows = d.flows(LEDGER)
    const option = d.seriesOption(flows, { values: [1, 5] })
    expect(option.xAxis.data).toEqual(['2026-01', '2026-02'])
    expect(option.series.map((s) => [s.name, s.data])).toEqual([['发放 Issued', [1200, 900]], ['未兑余额 Outstanding', [880, 1200]]])
  })

  it('pivot grids into series and lay the heat map out by month and grid', () => {
    const p = d.participation(LEDGER, names)
    const option = d.pivotOption(p, { x: 0, by: 1, value: 4 })
    expect(option.series.map((s) => [s.name, s.data])).toEqual([['一网格', [33.33, 80]], ['二网格', [26.67, null]],
      ['未分网格 No grid', [null, null]]])
    const heat = d.heatOption(d.heatmap(LEDGER, names), { x: 1, y: 0, value: 2 })
    expect(heat.xAxis.data).toEqual(['2026-01', '2026-02'])
    expect(heat.series[0].data).toEqual([[0, 0, 700], [0, 1, 500], [1, 0, 900], [1, 2, 0]])
    expect(heat.visualMap.max).toBe(900)
  })
})
