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

export default defineConfig({
  plugins: [vue(), noRemoteFonts],
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
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8000' } },
  test: { environment: 'node', include: ['tests/**/*.test.js'] },
})
