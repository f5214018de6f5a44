import { describe, expect, it } from 'vitest'
import { diffRules, leaves, readValue, removePath, setPath, showValue } from '../src/lib/rules.js'

const RULES = { hourly_rate: 10, activity_points: { patrol: 50 }, activity_bonuses: { patrol: { hazard: 30 } },
  caps: { per_day: 200, per_year: 1000 }, expiry: { mode: 'rolling', reminder_days: [30, 7] },
  honour_levels: [{ threshold: 100, title_zh: '一星', title_en: 'One star' }] }

describe('rule leaves', () => {
  it('lists every rule by its dotted path', () => {
    expect(leaves(RULES).map((l) => l.key)).toEqual(['hourly_rate', 'activity_points.patrol',
      'activity_bonuses.patrol.hazard', 'caps.per_day', 'caps.per_year', 'expiry.mode', 'expiry.reminder_days',
      'honour_levels.0.threshold', 'honour_levels.0.title_zh', 'honour_levels.0.title_en'])
  })

  it('sets and removes without touching the original', () => {
    const changed = setPath(RULES, ['caps', 'per_day'], 150)
    expect(changed.caps).toEqual({ per_day: 150, per_year: 1000 })
    expect(RULES.caps.per_day).toBe(200)
    const levels = setPath(RULES, ['honour_levels', '0', 'threshold'], 120).honour_levels
    expect(Array.isArray(levels) && levels[0].threshold).toBe(120)
    expect(removePath(RULES, ['activity_points', 'patrol']).activity_points).toEqual({})
    expect(removePath(RULES, ['honour_levels', '0']).honour_levels).toEqual([])
  })

  it('reads field text as the rule needs it', () => {
    expect(readValue('150', 200)).toBe(150)
    expect(readValue('', 200)).toBe(null)
    expect(readValue('1.5', 200)).toBe('1.5') // not whole: the service refuses it with a message
    expect(readValue('30, 7，1', [30, 7])).toEqual([30, 7, 1])
    expect(readValue('annual', 'rolling')).toBe('annual')
  })
})

describe('diffRules', () => {
  it('lists changed, added and removed rules with old and new values', () => {
    let after = setPath(RULES, ['caps', 'per_day'], null)
    after = setPath(after, ['activity_points', 'cleanup'], 20)
    after = removePath(after, ['activity_bonuses', 'patrol', 'hazard'])
    expect(diffRules(RULES, after)).toEqual([
      { path: 'activity_bonuses.patrol.hazard', from: 30, to: undefined },
      { path: 'caps.per_day', from: 200, to: null },
      { path: 'activity_points.cleanup', from: undefined, to: 20 },
      { path: 'activity_bonuses.patrol', from: undefined, to: {} },
    ])
    expect(diffRules(RULES, RULES)).toEqual([])
  })

  it('shows values in words', () => {
    expect(showValue(null, '不限')).toBe('不限')
    expect(showValue(undefined)).toBe('—')
    expect(showValue([30, 7])).toBe('30, 7')
    expect(showValue(0)).toBe('0')
  })
})
