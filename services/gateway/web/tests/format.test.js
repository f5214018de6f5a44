import { describe, expect, it } from 'vitest'
import { formatAmount, formatDuration, formatFen, formatPoints, maxPointsForBill, parseYuan } from '../src/lib/format.js'

describe('amounts in words', () => {
  it('says durations in hours and minutes in both languages', () => {
    expect(formatDuration(90, 'zh-CN')).toBe('1 小时 30 分钟')
    expect(formatDuration(90, 'en')).toBe('1 h 30 min')
    expect(formatDuration(60, 'zh-CN')).toBe('1 小时')
    expect(formatDuration(45, 'en')).toBe('45 min')
    expect(formatDuration(0, 'zh-CN')).toBe('0 分钟')
    expect(formatDuration(-125, 'zh-CN')).toBe('-2 小时 5 分钟')
    expect(formatDuration(null)).toBe('∞')
  })

  it('says points and picks the unit', () => {
    expect(formatPoints(50, 'zh-CN')).toBe('50 分')
    expect(formatPoints(50, 'en')).toBe('50 pts')
    expect(formatAmount('PT', 7, 'en')).toBe('7 pts')
    expect(formatAmount('HOUR', 150, 'zh-CN')).toBe('2 小时 30 分钟')
  })

  it('says money exactly, from fen', () => {
    expect(formatFen(1250)).toBe('¥12.50')
    expect(formatFen(5)).toBe('¥0.05')
    expect(formatFen(-300)).toBe('-¥3.00')
  })

  it('reads yuan typed by a person into fen, refusing what is not an amount', () => {
    expect(parseYuan('58')).toBe(5800)
    expect(parseYuan('58.5')).toBe(5850)
    expect(parseYuan(' 0.07 ')).toBe(7)
    expect(parseYuan('1.234')).toBeNull()
    expect(parseYuan('abc')).toBeNull()
    expect(parseYuan('')).toBeNull()
  })
})

describe('the till rule (as services/settlement/money.py)', () => {
  it('allows at most the share of the bill, half-even to the fen, in whole points', () => {
    expect(maxPointsForBill(10000, 3000, 10)).toBe(300) // 30% of ¥100 at 10 fen a point
    expect(maxPointsForBill(5, 5000, 1)).toBe(2) // 2.5 fen rounds half to even: 2
    expect(maxPointsForBill(7, 5000, 1)).toBe(4) // 3.5 fen rounds half to even: 4
    expect(maxPointsForBill(999, 1000, 10)).toBe(10) // 99.9 fen rounds to 100
    expect(maxPointsForBill(0, 1000, 10)).toBe(0)
  })
})
