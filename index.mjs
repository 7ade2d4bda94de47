// ESM entry: re-exports the CommonJS entry so both module systems share one instance.
// A static import, not createRequire: file tracers (Nitro's, Vercel's nft) follow static
// imports only, and a traced copy of this package must include index.js and what it loads.
import engine from './index.js'

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
