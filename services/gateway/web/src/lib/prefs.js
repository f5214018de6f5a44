// What a person chose and keeps across visits: language and the large-text mode (长辈版).
import { reactive, watch } from 'vue'

export const LOCALES = ['zh-CN', 'en']
const stored = (name) => {
  try {
    return localStorage.getItem(name)
  } catch {
    return null
  }
}

export const prefs = reactive({
  locale: LOCALES.includes(stored('tb.locale')) ? stored('tb.locale') : 'zh-CN',
  elder: stored('tb.elder') === '1',
})

function apply() {
  const root = document.documentElement
  root.lang = prefs.locale
  root.classList.toggle('elder', prefs.elder)
}

export function installPrefs(i18n) {
  const sync = () => {
    i18n.global.locale.value = prefs.locale
    try {
      localStorage.setItem('tb.locale', prefs.locale)
      localStorage.setItem('tb.elder', prefs.elder ? '1' : '0')
    } catch {
      // private mode: the choice lasts for this visit only
    }
    apply()
    document.title = i18n.global.t('app.title')
  }
  watch(prefs, sync, { immediate: true })
}
