// Playground: `npm run playground` at the repo root (or `npm run dev` here) serves it on the
// zero-config defaults: file queue and file store under .data/, memory stream.
export default defineNuxtConfig({
  modules: ['../src/module'],
  devtools: { enabled: false },
  telemetry: false,
  compatibilityDate: '2025-07-15',
})
