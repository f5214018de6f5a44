import { createApp } from 'vue'
import { Button, Cell, CellGroup, Field, Switch, Tag, Loading, Empty, Tabs, Tab, Rate, Badge } from 'vant'
// Only the styles of the components the app uses (a third of Vant's whole stylesheet).
import 'vant/es/button/style/index.mjs'
import 'vant/es/cell/style/index.mjs'
import 'vant/es/cell-group/style/index.mjs'
import 'vant/es/field/style/index.mjs'
import 'vant/es/switch/style/index.mjs'
import 'vant/es/tag/style/index.mjs'
import 'vant/es/loading/style/index.mjs'
import 'vant/es/empty/style/index.mjs'
import 'vant/es/tabs/style/index.mjs'
import 'vant/es/tab/style/index.mjs'
import 'vant/es/rate/style/index.mjs'
import 'vant/es/badge/style/index.mjs'
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
