// The conformance suite: the same behavioural tests against every backend (SPEC §2–§8).
// Each suite under conformance/ takes a backend description; a backend that has no
// factory for an adapter kind skips that suite.
import { backends } from './helpers/backends.mjs'
import storeSuite from './conformance/store.mjs'
import queueSuite from './conformance/queue.mjs'
import streamSuite from './conformance/stream.mjs'
import valuesSuite from './conformance/values.mjs'

for (const backend of backends) {
  if (backend.store) storeSuite(backend)
  if (backend.queue) queueSuite(backend)
  if (backend.stream) streamSuite(backend)
  // The rows where the values modes differ, once per mode (SPEC §2).
  for (const mode of ['json', 'strict']) valuesSuite(backend, mode)
}
