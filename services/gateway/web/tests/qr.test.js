import { describe, expect, it } from 'vitest'
import { approveQr, parseQr, payCodeQr, receiveQr } from '../src/lib/qr.js'

describe('what a scanned code means', () => {
  it('reads the requests service\'s check-in and check-out codes', () => {
    expect(parseQr('timebank://checkin/r_abc/123456')).toEqual({ kind: 'check', purpose: 'checkin', requestId: 'r_abc', code: '123456' })
  })

  it('round-trips the app\'s own codes', () => {
    expect(parseQr(payCodeQr('m_1', 'CBHFW3Q8'))).toEqual({ kind: 'pay', memberId: 'm_1', code: 'CBHFW3Q8' })
    expect(parseQr(approveQr('t_9'))).toEqual({ kind: 'approve', transferId: 't_9' })
    expect(parseQr(receiveQr('m_2', 'HOUR', 30))).toEqual({ kind: 'receive', memberId: 'm_2', unit: 'HOUR', amount: 30 })
    expect(parseQr(receiveQr('m_2'))).toEqual({ kind: 'receive', memberId: 'm_2', unit: null, amount: null })
  })

  it('refuses anything else, and nonsense amounts', () => {
    expect(parseQr('https://example.com')).toBeNull()
    expect(parseQr('timebank://checkin/r_1/12')).toBeNull()
    expect(parseQr('timebank://receive/m_2?unit=EUR&amount=-5')).toEqual({ kind: 'receive', memberId: 'm_2', unit: null, amount: null })
  })
})
