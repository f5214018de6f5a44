import { describe, expect, it } from 'vitest'
import { describeClearing, formatMeasure, myCommunityOn, namesFromLines, owedByUs, partnerOf, pointValues }
  from '../src/views/partners/partners.js'

const A = { community_id: 'c_a', code: 'lianhua', name: '莲花社区' }
const B = { community_id: 'c_b', code: 'taoyuan', name: '桃源社区' }
// net > 0: a's members paid more into b than they received, i.e. a owes b (services/exchange/README.md).
const line = { unit: 'HOUR', community_a: A, community_b: B, position: { net: 90 },
  rate: { a_point_value_fen: 10, b_point_value_fen: 4 } }

describe('a trust line seen from my community', () => {
  it('knows the partner and my own side', () => {
    expect(partnerOf(line, 'c_a')).toBe(B)
    expect(partnerOf(line, 'c_b')).toBe(A)
    expect(myCommunityOn(line, 'c_b')).toBe(B)
  })

  it('says who owes whom with the sign of my side', () => {
    expect(owedByUs(line, 'c_a')).toBe(90)
    expect(owedByUs(line, 'c_b')).toBe(-90)
    expect(owedByUs({ ...line, position: { net: 0 } }, 'c_b')).toBe(0)
  })

  it('gives the point values as mine and theirs', () => {
    expect(pointValues(line, 'c_a')).toEqual({ mine: 10, theirs: 4 })
    expect(pointValues(line, 'c_b')).toEqual({ mine: 4, theirs: 10 })
  })

  it('counts limits in the measure: minutes for hours, fen for points', () => {
    expect(formatMeasure('HOUR', 510, 'zh-CN')).toBe('8 小时 30 分钟')
    expect(formatMeasure('PT', 5000, 'en')).toBe('¥50.00')
  })
})

describe('a clearing record in words', () => {
  const t = (key, params) => `${key}:${JSON.stringify(params || {})}`
  const names = namesFromLines([line])

  it('names the debtor and the creditor and the amount due', () => {
    const said = describeClearing(t, { unit: 'PT', debtor_id: 'c_b', creditor_id: 'c_a', amount_due: 120 }, names, 'zh-CN')
    expect(said).toBe('partners.clearings.owes:{"debtor":"桃源社区","creditor":"莲花社区","amount":"¥1.20"}')
  })

  it('says even when nobody owes', () => {
    expect(describeClearing(t, { unit: 'HOUR', debtor_id: null }, names, 'en')).toBe('partners.clearings.even:{}')
  })
})
