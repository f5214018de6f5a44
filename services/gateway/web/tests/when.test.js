import { describe, expect, it } from 'vitest'
import { isoFromLocal, localInput } from '../src/lib/when.js'

describe('datetime-local fields', () => {
  it('round-trips a local time to ISO with its offset', () => {
    const date = new Date(2026, 10, 29, 9, 5, 7)
    expect(localInput(date)).toBe('2026-11-29T09:05:07')
    const iso = isoFromLocal('2026-11-29T09:05:07')
    expect(new Date(iso).getTime()).toBe(date.getTime())
    expect(iso).toMatch(/^2026-11-29T09:05:07[+-]\d\d:\d\d$/)
  })

  it('answers null for nothing or nonsense', () => {
    expect(isoFromLocal('')).toBe(null)
    expect(isoFromLocal('not a time')).toBe(null)
  })
})
