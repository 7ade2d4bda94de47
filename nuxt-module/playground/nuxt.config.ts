// Playground: `npm run playground` at the repo root (or `npm run dev` here) serves it on the
// zero-config defaults: file queue and file store under .data/, memory stream. The page
// follows the `playground:jobs` topic over SSE, the only topic the route serves.
export default defineNuxtConfig({
  modules: ['../src/module'],
  nvent: { sse: { topics: ['playground:jobs'] } },
  devtools: { enabled: false },
  telemetry: false,
  compatibilityDate: '2025-07-15',
})
