import { describe, expect, it } from 'vitest'
import { appealable } from '../src/views/appeals/appeals.js'

// Which line of a member's points history opens an appeal (积分异议申诉), and of what.
describe('appealable', () => {
  const line = (over) => ({ unit: 'PT', transfer_id: 't_1', workflow: 'system', delta: -10, reference: null, ...over })

  it('an award received is appealed as an award (the screen offers its cap cut when it has one)', () => {
    expect(appealable(line({ workflow: 'award', delta: 60, reference: { kind: 'request', id: 'r1' } })))
      .toEqual({ kind: 'award', subject: 't_1' })
  })

  it('an expiry by its transfer, a penalty by the penalty id', () => {
    expect(appealable(line({ reference: { kind: 'expiry', id: '2026-11-29' } }))).toEqual({ kind: 'expiry', subject: 't_1' })
    expect(appealable(line({ reference: { kind: 'penalty', id: 'pn_1' } }))).toEqual({ kind: 'penalty', subject: 'pn_1' })
  })

  it('not a repayment of owed points, a compensation, a gift or anything in hours', () => {
    expect(appealable(line({ reference: { kind: 'penalty', id: 'debt' } }))).toBeNull()
    expect(appealable(line({ delta: 30, reference: { kind: 'appeal', id: 'ap_1' } }))).toBeNull()
    expect(appealable(line({ workflow: 'credit', delta: 20 }))).toBeNull()
    expect(appealable(line({ unit: 'HOUR', workflow: 'award', delta: 60 }))).toBeNull()
  })
})
