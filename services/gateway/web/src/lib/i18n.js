import { createI18n } from 'vue-i18n'
import zhCN from '../locales/zh-CN.json'
import en from '../locales/en.json'
import { prefs } from './prefs.js'

export const i18n = createI18n({
  legacy: false,
  locale: prefs.locale,
  fallbackLocale: false,
  messages: { 'zh-CN': zhCN, en },
  // A missing message is a bug in the app: say so loudly (the browser tests fail on console errors).
  missing: (locale, key) => {
    console.error(`missing message ${locale}:${key}`)
    return key
  },
  missingWarn: false,
  fallbackWarn: false,
})
