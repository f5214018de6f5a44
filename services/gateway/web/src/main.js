import { createApp } from 'vue'
import { Button, Cell, CellGroup, Field, Switch, Tag, Loading, Empty, Tabs, Tab, Rate, Badge } from 'vant'
import 'vant/lib/index.css'
import './styles.css'
import App from './App.vue'
import { router } from './router.js'
import { i18n } from './lib/i18n.js'
import { installPrefs } from './lib/prefs.js'
import { whenSignedOut } from './lib/session.js'

installPrefs(i18n)
whenSignedOut(() => {
  if (router.currentRoute.value.name !== 'login') {
    router.replace({ name: 'login', query: { next: router.currentRoute.value.fullPath } })
  }
})

const app = createApp(App)
for (const component of [Button, Cell, CellGroup, Field, Switch, Tag, Loading, Empty, Tabs, Tab, Rate, Badge]) {
  app.use(component)
}
app.use(i18n).use(router).mount('#app')
