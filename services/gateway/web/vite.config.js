import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// The gateway serves dist/ at / and dist/assets/* with a year-long immutable cache (hashed names).
// Vant's icon font is inlined as data: woff2, with a fallback on a CDN the CSP refuses (and phones may not reach).
const noRemoteFonts = {
  name: 'no-remote-fonts',
  enforce: 'pre',
  transform(code, id) {
    if (!id.includes('vant') || !id.endsWith('.css')) return null
    return { code: code.replace(/,\s*url\((?:https?:)?\/\/[^)]*\)\s*format\("[^"]*"\)/g, ''), map: null }
  },
}

// src/early.js is an entry of its own, named in the page before the app: a few hundred bytes that run as soon as they
// arrive and ask for the resident home's balances while the app's bundle is still on its way (one round trip and
// the bundle's download saved on a slow phone). The app's main chunk does not wait for it.
const EARLY = 'src/early.js'
const earlyFirst = {
  name: 'early-first',
  apply: 'build',
  transformIndexHtml: {
    order: 'post',
    handler(html, { bundle }) {
      const chunk = Object.values(bundle || {}).find((c) => c.type === 'chunk' && c.isEntry && c.facadeModuleId?.endsWith(EARLY))
      if (!chunk) return html
      return html.replace('<title>', `<script type="module" async crossorigin src="/${chunk.fileName}"></script>\n<title>`)
    },
  },
}

export default defineConfig({
  plugins: [vue(), noRemoteFonts, earlyFirst],
  define: {
    // vue-i18n: no legacy API, no runtime message compiler via new Function (the CSP forbids eval).
    __VUE_I18N_FULL_INSTALL__: false,
    __VUE_I18N_LEGACY_API__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
    __INTLIFY_JIT_COMPILATION__: true,
    __INTLIFY_DROP_MESSAGE_COMPILER__: false,
  },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 400,
    rollupOptions: { input: { index: 'index.html', early: EARLY } },
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8000' } },
  test: { environment: 'node', include: ['tests/**/*.test.js'] },
})
