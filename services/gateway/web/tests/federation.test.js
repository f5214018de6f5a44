import { describe, expect, it } from 'vitest'
import { createI18n } from 'vue-i18n'
import { CC_STATES, addressesToShow, fromMySide, isFinal, ledgerAmount, parseAddress, signedWords, stateKey, withTransfer }
  from '../src/lib/federation.js'
import zhCN from '../src/locales/zh-CN.json'
import en from '../src/locales/en.json'

describe('a payee address <node path>/<community code>/<handle>', () => {
  it('takes a well-formed address, with one or more node names', () => {
    expect(parseAddress('hub/taoyuan/wang_fix')).toEqual(
      { address: 'hub/taoyuan/wang_fix', node: 'hub', code: 'taoyuan', handle: 'wang_fix' })
    expect(parseAddress('hub/leaf/lianhua/ann').node).toBe('hub/leaf')
  })

  it('drops spaces and end slashes, and keeps the case (another implementation may name accounts so)', () => {
    expect(parseAddress('  /hub/ taoyuan /wang_fix/ ').address).toBe('hub/taoyuan/wang_fix')
    expect(parseAddress('Trunk/NET1/NET10002.x').address).toBe('Trunk/NET1/NET10002.x')
  })

  it('refuses a malformed one, saying what is wrong', () => {
    expect(parseAddress('')).toEqual({ error: 'empty' })
    expect(parseAddress('   ')).toEqual({ error: 'empty' })
    expect(parseAddress('taoyuan/wang_fix')).toEqual({ error: 'shape' })
    expect(parseAddress('13800000001')).toEqual({ error: 'shape' })
    expect(parseAddress('hub//wang_fix')).toEqual({ error: 'shape' })
    expect(parseAddress('h ub/taoyuan/wang_fix')).toEqual({ error: 'part' })
    expect(parseAddress('hub/桃源/wang_fix')).toEqual({ error: 'part' })
    expect(parseAddress('hub/taoyuan/-x')).toEqual({ error: 'part' })
    expect(parseAddress('hub/taoyuan/a@b')).toEqual({ error: 'part' })
    expect(parseAddress(`${'n/'.repeat(150)}taoyuan/wang_fix`)).toEqual({ error: 'long' })
  })
})

describe('the amount the API takes (minutes for hours, points)', () => {
  it('turns hours and minutes into minutes', () => {
    expect(ledgerAmount('HOUR', { hours: '1', minutes: '30' })).toBe(90)
    expect(ledgerAmount('HOUR', { hours: '2' })).toBe(120)
    expect(ledgerAmount('HOUR', { minutes: '45' })).toBe(45)
    expect(ledgerAmount('HOUR', { hours: ' 0 ', minutes: '1' })).toBe(1)
  })

  it('takes points as they are', () => {
    expect(ledgerAmount('PT', { points: '7' })).toBe(7)
    expect(ledgerAmount('PT', { points: '7', hours: '3' })).toBe(7)
  })

  it('refuses what is not a whole amount of at least 1', () => {
    expect(ledgerAmount('HOUR', {})).toBeNull()
    expect(ledgerAmount('HOUR', { hours: '0', minutes: '0' })).toBeNull()
    expect(ledgerAmount('HOUR', { hours: '1', minutes: '60' })).toBeNull()
    expect(ledgerAmount('HOUR', { hours: '1.5' })).toBeNull()
    expect(ledgerAmount('HOUR', { hours: '-1' })).toBeNull()
    expect(ledgerAmount('PT', { points: '' })).toBeNull()
    expect(ledgerAmount('PT', { points: '0' })).toBeNull()
    expect(ledgerAmount('PT', { points: '2e3' })).toBeNull()
    expect(ledgerAmount('EUR', { points: '5' })).toBeNull()
  })
})

const paid = { uuid: 'u1', direction: 'out', unit: 'HOUR', amount: 90, state: 'validated',
  payer: 'hub/leaf/lianhua/ann', payee: 'hub/taoyuan/bo' }
const received = { uuid: 'u2', direction: 'in', unit: 'PT', amount: 7, state: 'completed',
  payer: 'hub/taoyuan/bo', payee: 'hub/leaf/lianhua/ann' }

describe('a transfer seen by its resident', () => {
  it('says the amount with its sign and the other side', () => {
    expect(fromMySide(paid)).toEqual({ amount: -90, other: 'hub/taoyuan/bo' })
    expect(fromMySide(received)).toEqual({ amount: 7, other: 'hub/taoyuan/bo' })
    expect(signedWords(paid, 'zh-CN')).toBe('-1 小时 30 分钟')
    expect(signedWords(received, 'zh-CN')).toBe('+7 分')
    expect(signedWords(received, 'en')).toBe('+7 pts')
  })

  it('knows which states are final (polling stops there)', () => {
    expect(['completed', 'refused', 'erased', 'timedout'].every((state) => isFinal({ state }))).toBe(true)
    expect(['new', 'validated', 'held', 'pending', 'refusing'].some((state) => isFinal({ state }))).toBe(false)
  })

  it('says every state in words in both languages', () => {
    const i18n = createI18n({ legacy: false, locale: 'zh-CN', messages: { 'zh-CN': zhCN, en } })
    const { t, te } = i18n.global
    for (const state of CC_STATES) {
      expect(te(stateKey(state), 'zh-CN') && te(stateKey(state), 'en')).toBe(true)
    }
    expect(t(stateKey('validated'))).toBe('对方已确认，待入账')
    expect(t(stateKey('completed'))).toBe('已完成')
    expect(t(stateKey('timedout'))).toBe('已超时，余额未变')
    expect(t(stateKey('something_new'))).toBe('处理中')
  })

  it('puts a new transfer first and replaces a known one in place', () => {
    expect(withTransfer([received], paid).map((t) => t.uuid)).toEqual(['u1', 'u2'])
    const done = { ...paid, state: 'completed' }
    expect(withTransfer([paid, received], done)).toEqual([done, received])
    expect(withTransfer(null, paid)).toEqual([paid])
  })
})

describe('my addresses, as the exchange lists them per grafted unit', () => {
  const row = (unit, address) => ({ unit, address, node_path: address.split('/').slice(0, -2).join('/'),
    community_code: address.split('/').at(-2), handle: address.split('/').at(-1) })

  it('shows one address once with every unit it receives, in the order listed', () => {
    expect(addressesToShow([row('HOUR', 'hub/leaf/lianhua/ann'), row('PT', 'hub/leaf/lianhua/ann')]))
      .toEqual([{ address: 'hub/leaf/lianhua/ann', units: ['HOUR', 'PT'] }])
  })

  it('keeps different addresses apart (units grafted onto different nodes)', () => {
    expect(addressesToShow([row('HOUR', 'hub/leaf/lianhua/ann'), row('PT', 'city/lianhua/ann')])).toEqual([
      { address: 'hub/leaf/lianhua/ann', units: ['HOUR'] }, { address: 'city/lianhua/ann', units: ['PT'] }])
  })

  it('shows nothing when this deployment is not federated', () => {
    expect(addressesToShow([])).toEqual([])
    expect(addressesToShow(null)).toEqual([])
    expect(addressesToShow([{ unit: 'HOUR' }])).toEqual([])
  })
})
