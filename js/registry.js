'use strict'
// AdapterRegistry and createAdapters (SPEC §8). Config resolution (both shapes, defaults)
// is the engine's (`resolveAdapterConfig`); the registry maps names to adapter objects —
// registered JS objects win over the built-ins.

const native = require('./native')
const { NventError, fromNative } = require('./errors')

const BUILTIN = ['memory', 'file', 'redis']

function builtins() {
  const e = require('../index.js')
  return {
    queue: { memory: e.MemoryQueueAdapter, file: e.FileQueueAdapter, redis: e.RedisQueueAdapter },
    // A `file` stream is the memory stream: file deployments are single-instance (seed 000).
    stream: { memory: e.MemoryStreamAdapter, file: e.MemoryStreamAdapter, redis: e.RedisStreamAdapter },
    store: { memory: e.MemoryStoreAdapter, file: e.FileStoreAdapter, redis: e.RedisStoreAdapter },
  }
}

class AdapterRegistry {
  constructor() {
    this._adapters = { queue: new Map(), stream: new Map(), store: new Map() }
    this._created = []
  }

  _register(kind, name, adapter) {
    if (typeof name !== 'string' || name === '') {
      throw new NventError('NVENT_INVALID_NAME', `invalid ${kind} adapter name: must be a non-empty string`)
    }
    if (adapter === null || (typeof adapter !== 'object' && typeof adapter !== 'function')) {
      throw new NventError('NVENT_INVALID_ARGUMENT', `a ${kind} adapter must be an object`)
    }
    this._adapters[kind].set(name, adapter)
  }

  _get(kind, name, options) {
    const registered = this._adapters[kind].get(name)
    if (registered !== undefined) return registered
    const cls = BUILTIN.includes(name) ? builtins()[kind][name] : undefined
    if (!cls) {
      const available = [...new Set([...this._adapters[kind].keys(), ...BUILTIN])]
      throw new NventError('NVENT_UNKNOWN_ADAPTER', `unknown ${kind} adapter '${name}'; available: ${available.join(', ')}`)
    }
    const adapter = new cls(options)
    this._created.push(adapter)
    return adapter
  }

  _list(kind) {
    return [...new Set([...this._adapters[kind].keys(), ...BUILTIN])]
  }

  registerQueue(name, adapter) {
    this._register('queue', name, adapter)
  }
  registerStream(name, adapter) {
    this._register('stream', name, adapter)
  }
  registerStore(name, adapter) {
    this._register('store', name, adapter)
  }
  /** A registered adapter, or a new built-in one made with `options`. */
  getQueue(name, options) {
    return this._get('queue', name, options)
  }
  getStream(name, options) {
    return this._get('stream', name, options)
  }
  getStore(name, options) {
    return this._get('store', name, options)
  }
  hasQueue(name) {
    return this._adapters.queue.has(name) || BUILTIN.includes(name)
  }
  hasStream(name) {
    return this._adapters.stream.has(name) || BUILTIN.includes(name)
  }
  hasStore(name) {
    return this._adapters.store.has(name) || BUILTIN.includes(name)
  }
  listQueueAdapters() {
    return this._list('queue')
  }
  listStreamAdapters() {
    return this._list('stream')
  }
  listStoreAdapters() {
    return this._list('store')
  }
  /** Calls `init()` on every registered adapter that has one. */
  async initAll() {
    for (const kind of ['queue', 'stream', 'store']) {
      for (const a of this._adapters[kind].values()) if (a && typeof a.init === 'function') await a.init()
    }
  }
  /** Closes every registered adapter and every built-in one this registry made. */
  async closeAll() {
    const all = new Set(this._created)
    const kinds = new Map()
    for (const a of all) kinds.set(a, 'unknown')
    for (const kind of ['queue', 'stream', 'store']) for (const a of this._adapters[kind].values()) kinds.set(a, kind)
    this._created = []
    const errors = []
    for (const [a, kind] of kinds) {
      try {
        await closeAdapter(a, kind)
      } catch (e) {
        errors.push(e)
      }
    }
    if (errors.length > 0) throw errors[0]
  }
}

/** Closes an adapter: streams by `shutdown()` (SPEC §4), the others by `close()`. */
async function closeAdapter(a, kind) {
  if (!a) return
  if (kind === 'stream' && typeof a.shutdown === 'function') await a.shutdown()
  else if (typeof a.close === 'function') await a.close()
  else if (typeof a.shutdown === 'function') await a.shutdown()
}

const KEY = Symbol.for('nvent.engine.registry')
const CURRENT = Symbol.for('nvent.engine.currentAdapters')

/** The process-wide registry (kept on globalThis so that it survives module reloads). */
function useAdapterRegistry() {
  if (!globalThis[KEY]) globalThis[KEY] = new AdapterRegistry()
  return globalThis[KEY]
}

/**
 * Creates the queue, stream and store adapters named by `config` (either shape of SPEC §8;
 * defaults: file queue, memory stream, file store under `.data/`).
 */
async function createAdapters(config = {}, registry = useAdapterRegistry()) {
  let resolved
  try {
    resolved = JSON.parse(native.resolveAdapterConfig(JSON.stringify(config ?? {})))
  } catch (e) {
    throw fromNative(e)
  }
  const made = []
  try {
    const queue = registry.getQueue(resolved.queue.name, resolved.queue.options)
    made.push(queue)
    const stream = registry.getStream(resolved.stream.name, resolved.stream.options)
    made.push(stream)
    const store = registry.getStore(resolved.store.name, resolved.store.options)
    made.push(store)
    for (const a of made) if (typeof a.init === 'function') await a.init()
    const adapters = { queue, stream, store }
    globalThis[CURRENT] = adapters
    return adapters
  } catch (e) {
    for (const a of made) await closeAdapter(a).catch(() => {})
    throw e
  }
}

function currentAdapters() {
  return globalThis[CURRENT] || null
}

/** Closes `adapters` (default: those made by the last `createAdapters` call). */
async function shutdownAdapters(adapters) {
  const current = globalThis[CURRENT]
  const set = adapters || current
  if (!adapters || adapters === current) globalThis[CURRENT] = null
  if (!set) return
  await closeAdapter(set.queue, 'queue')
  await closeAdapter(set.stream, 'stream')
  await closeAdapter(set.store, 'store')
}

module.exports = { AdapterRegistry, useAdapterRegistry, createAdapters, shutdownAdapters, currentAdapters }
