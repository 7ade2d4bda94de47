'use strict'
// @nvent/engine: the JS entry. Each module under js/ wraps one concern of the native
// addon; this file only gathers their exports (SPEC §1). The keys are written out so that
// Node's ESM loader sees them as named exports of this CommonJS module.

// Before anything else (the addon and the JS layer need Node 20): a clear error on older Node.
require('./js/runtime').checkNode(process.versions.node)

const { RedisStoreAdapter, RedisStreamAdapter, RedisQueueAdapter } = require('./js/redis')
const { MemoryStoreAdapter, FileStoreAdapter } = require('./js/store')
const { MemoryQueueAdapter, FileQueueAdapter } = require('./js/queue')
const { MemoryStreamAdapter } = require('./js/stream')
const { EventBus, getEventBus } = require('./js/bus')
const { createStreamCoordinator, createWiringRegistry } = require('./js/coordinator')
const { AdapterRegistry, useAdapterRegistry, createAdapters, shutdownAdapters } = require('./js/registry')
const { NventError } = require('./js/errors')

module.exports = {
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
}
