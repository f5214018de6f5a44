import { describe, expect, it } from 'vitest'
import { createI18n } from 'vue-i18n'
import { problemMessage } from '../src/lib/api.js'
import zhCN from '../src/locales/zh-CN.json'
import en from '../src/locales/en.json'

function keys(tree, prefix = '') {
  return Object.entries(tree).flatMap(([k, v]) => (typeof v === 'object' ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`]))
}

function say(locale, error) {
  const i18n = createI18n({ legacy: false, locale, messages: { 'zh-CN': zhCN, en } })
  return problemMessage(i18n.global.t, i18n.global.te, error)
}

const HAN = /[\u4e00-\u9fff]/

describe('problems in the reader\'s language', () => {
  it('have the same messages in both catalogues', () => {
    expect(keys(en).sort()).toEqual(keys(zhCN).sort())
  })

  it('say a known code in Chinese and in English, with its figures', () => {
    const error = { status: 422, code: 'over_max_share', problem: { code: 'over_max_share', max_points: 300 } }
    expect(say('zh-CN', error)).toBe('超过了这笔账单可以用积分抵扣的上限（最多 300 分）。')
    expect(say('en', error)).toContain('at most 300')
  })

  it('never show raw English in the Chinese UI for an unknown code', () => {
    const error = { status: 400, code: 'brand_new_code', problem: { detail: 'Something in English' } }
    const message = say('zh-CN', error)
    expect(message).toBe(zhCN.problems.generic)
    expect(message).not.toContain('English')
  })

  it('fall back by status when there is no code', () => {
    expect(say('zh-CN', { status: 0, problem: {} })).toBe(zhCN.problems.network_error)
    expect(say('zh-CN', { status: 503, problem: {} })).toBe(zhCN.problems.server_error)
    expect(say('en', { status: 429, problem: {} })).toBe(en.problems.too_many_requests)
  })

  it('are Chinese in the Chinese catalogue', () => {
    for (const [code, message] of Object.entries(zhCN.problems)) {
      expect(HAN.test(message), code).toBe(true)
    }
  })
})
