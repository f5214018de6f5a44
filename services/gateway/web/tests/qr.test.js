import { describe, expect, it } from 'vitest'
import { QR_VERSION, approveQr, chargeQr, parseQr, payCodeQr, receiveQr } from '../src/lib/qr.js'

describe('what a scanned code means', () => {
  it('reads the requests service\'s check-in and check-out codes', () => {
    expect(parseQr('timebank://checkin/r_abc/123456')).toEqual({ kind: 'check', purpose: 'checkin', requestId: 'r_abc', code: '123456' })
    expect(parseQr(' timebank://checkout/r_abc/000001\n')).toEqual({ kind: 'check', purpose: 'checkout', requestId: 'r_abc', code: '000001' })
  })

  it('writes version 1 and round-trips every code of the app', () => {
    expect(QR_VERSION).toBe('v1')
    expect(payCodeQr('CBHFW3Q8')).toBe('timebank://v1/pay/CBHFW3Q8')
    expect(parseQr(payCodeQr('CBHFW3Q8'))).toEqual({ kind: 'pay', code: 'CBHFW3Q8' })
    expect(parseQr(approveQr('t_9'))).toEqual({ kind: 'approve', transferId: 't_9' })
    expect(chargeQr('chg_1a2b')).toBe('timebank://v1/charge/chg_1a2b')
    expect(parseQr(chargeQr('chg_1a2b'))).toEqual({ kind: 'charge', chargeId: 'chg_1a2b' })
    expect(parseQr(receiveQr('m_2', 'HOUR', 30))).toEqual({ kind: 'receive', memberId: 'm_2', unit: 'HOUR', amount: 30, memo: null })
    expect(parseQr(receiveQr('m_2'))).toEqual({ kind: 'receive', memberId: 'm_2', unit: null, amount: null, memo: null })
  })

  it('carries a memo in any language, encoded, and cut to 60 characters', () => {
    const text = receiveQr('m_2', 'PT', 50, '买菜钱 & 谢谢')
    expect(text).not.toContain(' ')
    expect(parseQr(text)).toEqual({ kind: 'receive', memberId: 'm_2', unit: 'PT', amount: 50, memo: '买菜钱 & 谢谢' })
    expect(parseQr(receiveQr('m_2', 'PT', 5, '长'.repeat(80))).memo).toHaveLength(60)
  })

  it('refuses other versions, other apps, malformed ids and nonsense amounts', () => {
    expect(parseQr('https://example.com')).toBeNull()
    expect(parseQr('')).toBeNull()
    expect(parseQr(null)).toBeNull()
    expect(parseQr('timebank://checkin/r_1/12')).toBeNull()
    expect(parseQr('timebank://v2/charge/chg_1')).toBeNull()
    expect(parseQr('timebank://pay/m_1/CBHFW3Q8')).toBeNull() // the unversioned draft is not read
    expect(parseQr('timebank://v1/charge/chg 1')).toBeNull()
    expect(parseQr('timebank://v1/charge/../../x')).toBeNull()
    expect(parseQr('timebank://v1/charge/chg_1?amount=5')).toBeNull() // a charge's amount is never in the code
    expect(parseQr('timebank://v1/pay/ab')).toBeNull()
    expect(parseQr('timebank://v1/receive/m_2?unit=EUR&amount=-5')).toEqual({ kind: 'receive', memberId: 'm_2', unit: null, amount: null, memo: null })
    expect(parseQr('timebank://v1/receive/m_2?amount=1.5').amount).toBeNull()
  })
})
