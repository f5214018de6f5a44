import { describe, expect, it } from 'vitest'
import { simulationCommunity, simulationRows, weightsFrom } from '../src/views/admin/figures.js'

const side = (issued, liability, ratio, warning) => ({
  totals: { issued, redeemed: 10, expired: 0, penalised: 0, outstanding: issued - 10, owed: 0 },
  coverage: { liability_fen: liability, ratio_percent: ratio, warning },
  concentration: { top10_share_percent: '40.0', gini: '0.5' },
  expiring: { 30: 5, 90: 9 },
  awards: { count: 3, held_for_review: 1 },
})

describe('simulationRows', () => {
  it('puts the current and proposed figures side by side with the change', () => {
    const rows = simulationRows({ current: side(100, 900, '120.5', false), proposed: side(150, 1400, '77.4', true) },
      (f) => `¥${(f / 100).toFixed(2)}`)
    const by = Object.fromEntries(rows.map((r) => [r.key, r]))
    expect(by.issued).toEqual({ key: 'issued', current: 100, proposed: 150, change: '+50' })
    expect(by.liability).toEqual({ key: 'liability', current: '¥9.00', proposed: '¥14.00', change: '+¥5.00' })
    expect(by.coverage).toEqual({ key: 'coverage', current: '120.5%', proposed: '77.4%', change: '⚠' })
    expect(by.expiring90.change).toBe('0')
    expect(rows.map((r) => r.key)).toContain('gini')
  })

  it('has nothing to show before a result', () => {
    expect(simulationRows(null, String)).toEqual([])
  })
})

describe('the simulated community from the form', () => {
  it('leaves blank fields to the service, turns yuan into fen and reads weights', () => {
    expect(simulationCommunity({ households: '300', months: '12', grids: '', participation_start_percent: '5',
      participation_end_percent: '30', budget_yuan: '2000', activity_mix: 'environment_cleanup:3, elder_care：1',
      ratings: '5:60，4:30 3:10' })).toEqual({ households: 300, months: 12, participation_start_percent: 5,
      participation_end_percent: 30, budget_fen: 200000, activity_mix: { environment_cleanup: 3, elder_care: 1 },
      ratings: { 5: 60, 4: 30, 3: 10 } })
    expect(simulationCommunity({ households: '300' })).toEqual({ households: 300 })
  })

  it('names the field it cannot read', () => {
    expect(() => simulationCommunity({ grids: '3.5' })).toThrow('grids')
    expect(() => simulationCommunity({ ratings: '5=60' })).toThrow('ratings')
    expect(() => simulationCommunity({ budget_yuan: '-1' })).toThrow('budget_yuan')
    expect(weightsFrom('  ')).toBeNull()
  })
})
