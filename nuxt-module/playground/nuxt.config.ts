// Playground: `npm run dev` in nuxt-module/ serves it. Memory backends, so nothing to set up.
export default defineNuxtConfig({
  modules: ['../src/module'],
  nvent: {
    queue: { adapter: 'memory' },
    stream: { adapter: 'memory' },
    store: { adapter: 'memory' },
  },
  devtools: { enabled: false },
  telemetry: false,
  compatibilityDate: '2025-07-15',
})
