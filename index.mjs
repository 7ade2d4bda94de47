// ESM entry: re-exports the CommonJS entry so both module systems share one instance.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const engine = require('./index.js')

export const {
  MemoryQueueAdapter,
  FileQueueAdapter,
  RedisQueueAdapter,
  MemoryStreamAdapter,
  RedisStreamAdapter,
  MemoryStoreAdapter,
  FileStoreAdapter,
  RedisStoreAdapter,
  AdapterRegistry,
  useAdapterRegistry,
  createAdapters,
  shutdownAdapters,
  EventBus,
  getEventBus,
  createStreamCoordinator,
  createWiringRegistry,
  NventError,
} = engine
export default engine
