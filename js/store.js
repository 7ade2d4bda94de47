'use strict'
// StoreAdapter (SPEC §3): thin classes giving the engine's store the SPEC's shape, with
// real nested namespaces (store.stream, store.kv, store.index, store.claim). Every
// method validates and encodes its input here (codec.js), calls the engine, and decodes.

const native = require('./native')
const { outbox, register, unregister } = require('./outbox')
const { encode, encodeRecord, plainRecord, encodeOptions, name, limitsOf, optionsText } = require('./codec')
const { settle, delivered } = require('./settle')
const { NventError, fromNative } = require('./errors')
const { isolate, requireFunction } = require('./isolate')
const { Batcher } = require('./batch')

const parse = (t) => JSON.parse(t)
const none = () => undefined
const parseNullable = (t) => (t === null || t === undefined ? null : JSON.parse(t))
const opts = (o, lim) => encodeOptions(o, 'options', lim)

function ttlArg(ttl) {
  if (ttl === undefined || ttl === null) return undefined
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 0) {
    throw new NventError('NVENT_INVALID_ARGUMENT', `ttl must be a non-negative number of seconds, got ${String(ttl)}`)
  }
  return ttl
}

function numberArg(what, v, dflt) {
  if (v === undefined) return dflt
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new NventError('NVENT_INVALID_ARGUMENT', `${what} must be a finite number, got ${String(v)}`)
  }
  return v
}

/** Queues a call on `batch` after validating its arguments (`args()` throws on bad ones). */
function batched(batch, kind, args) {
  let a
  try {
    a = args()
  } catch (e) {
    return Promise.reject(fromNative(e))
  }
  return batch.push(kind, a[0], a[1], a[2], a[3])
}

class StreamTier {
  constructor(n, lim, batch) {
    this._n = n
    this._h = n.handle()
    this._lim = lim
    this._batch = batch
  }
  append(subject, event) {
    // Before the value check: a symbol or object `type` is a wrong argument, not a value
    // JSON cannot carry (the engine checks `type` too, on the text).
    if (event !== null && typeof event === 'object' && typeof event.type !== 'string') {
      return Promise.reject(new NventError('NVENT_INVALID_ARGUMENT', "an event needs a string 'type'"))
    }
    const batch = this._batch
    if (batch) {
      // A plain event's text is made from its plain copy, and its record is that copy
      // with id and ts filled in (js/batch.js); anything else (a Date, its own id...)
      // goes as encodeRecord's text, and the record comes from the engine.
      let s, text, from
      try {
        s = name('subject', subject)
        from = plainRecord(event, this._lim)
        if (from !== undefined) text = JSON.stringify(from)
        if (from === undefined || text.length > this._lim.maxValueBytes) from = text = encodeRecord(event, 'event', this._lim)
      } catch (e) {
        return Promise.reject(fromNative(e))
      }
      return batch.push('a', s, text, undefined, from)
    }
    return settle(() => native.storeStreamAppend(this._h, name('subject', subject), encodeRecord(event, 'event', this._lim)), parse)
  }
  read(subject, options) {
    return settle(() => native.storeStreamRead(this._h, name('subject', subject), opts(options, this._lim)), parse)
  }
  subscribe(subject, onEvent) {
    let t
    return settle(() => {
      requireFunction('onEvent', onEvent)
      t = register(isolate('store', onEvent))
      try {
        return this._n.streamSubscribe(name('subject', subject), t)
      } catch (e) {
        unregister(t)
        throw e
      }
    }).then((id) => {
      let ending = null
      return {
        id: String(id),
        subject,
        // Resolves once the engine stopped calling onEvent and every record it queued for
        // it before that was delivered (SPEC §3.1); nothing is delivered after.
        unsubscribe: () => {
          if (ending) return ending
          const retire = () => delivered().then(() => unregister(t))
          ending = settle(() => this._n.streamUnsubscribe(id)).then(retire, (e) => retire().then(() => Promise.reject(e)))
          return ending
        },
      }
    })
  }
  delete(subject) {
    return settle(() => this._n.streamDelete(name('subject', subject)))
  }
  count(subject) {
    return settle(() => this._n.streamCount(name('subject', subject)))
  }
}

class KvTier {
  constructor(n, lim, batch) {
    this._n = n
    this._h = n.handle()
    this._lim = lim
    this._batch = batch
  }
  get(key) {
    if (this._batch && this._batch.kinds.includes('g')) return batched(this._batch, 'g', () => [name('key', key)])
    return settle(() => native.storeKvGet(this._h, name('key', key)), parseNullable)
  }
  set(key, value, ttl) {
    if (this._batch && this._batch.kinds.includes('s')) return batched(this._batch, 's', () => [name('key', key), encode(value, this._lim), ttlArg(ttl)])
    return settle(() => native.storeKvSet(this._h, name('key', key), encode(value, this._lim), ttlArg(ttl)), none)
  }
  delete(key) {
    return settle(() => native.storeKvDelete(this._h, name('key', key)), none)
  }
  clear(pattern) {
    return settle(() => this._n.kvClear(name('pattern', pattern)))
  }
  increment(key, by = 1) {
    return settle(() => native.storeKvIncrement(this._h, name('key', key), numberArg('by', by, 1)))
  }
  decrement(key, by = 1) {
    return settle(() => native.storeKvIncrement(this._h, name('key', key), -numberArg('by', by, 1)))
  }
  exists(key) {
    return settle(() => native.storeKvExists(this._h, name('key', key)))
  }
  expire(key, ttl) {
    return settle(() => this._n.kvExpire(name('key', key), numberArg('ttl', ttl)))
  }
  touch(key, ttl) {
    return this.expire(key, ttl)
  }
  ttl(key) {
    return settle(() => this._n.kvTtl(name('key', key)), (v) => (v === undefined ? null : v))
  }
  mget(keys) {
    return settle(() => {
      if (!Array.isArray(keys)) throw new NventError('NVENT_INVALID_ARGUMENT', 'mget takes an array of keys')
      return this._n.kvMget(keys.map((k) => name('key', k)))
    }, parse)
  }
  mset(entries) {
    return settle(() => {
      if (!Array.isArray(entries)) {
        throw new NventError('NVENT_INVALID_ARGUMENT', 'mset takes an array of { key, value, ttl? }')
      }
      for (const e of entries) {
        if (e === null || typeof e !== 'object') {
          throw new NventError('NVENT_INVALID_ARGUMENT', 'mset takes an array of { key, value, ttl? }')
        }
        name('key', e.key)
        ttlArg(e.ttl)
      }
      return this._n.kvMset(encode(entries.map((e) => ({ key: e.key, value: e.value, ttl: e.ttl ?? null })), this._lim))
    }).then(() => undefined)
  }
}

class IndexTier {
  constructor(n, lim) {
    this._n = n
    this._h = n.handle()
    this._lim = lim
  }
  add(key, id, score, metadata) {
    return settle(() =>
      native.storeIndexAdd(this._h, 
        name('index key', key),
        name('id', id),
        numberArg('score', score),
        metadata === undefined ? undefined : encode(metadata, this._lim),
      ),
    ).then(() => undefined)
  }
  get(key, id) {
    return settle(() => native.storeIndexGet(this._h, name('index key', key), name('id', id)), parseNullable)
  }
  read(key, options) {
    return settle(() => native.storeIndexRead(this._h, name('index key', key), opts(options, this._lim)), parse)
  }
  count(key, options) {
    return settle(() => this._n.indexCount(name('index key', key), opts(options, this._lim)))
  }
  update(key, id, partial, options) {
    return settle(() =>
      native.storeIndexUpdate(this._h, name('index key', key), name('id', id), encode(partial, this._lim), opts(options, this._lim)),
    )
  }
  updateWithRetry(key, id, partial, maxRetries = 3) {
    return settle(() =>
      this._n.indexUpdateWithRetry(
        name('index key', key),
        name('id', id),
        encode(partial, this._lim),
        numberArg('maxRetries', maxRetries, 3),
      ),
    ).then(() => undefined)
  }
  increment(key, id, field, by = 1) {
    return settle(() =>
      native.storeIndexIncrement(this._h, name('index key', key), name('id', id), name('field', field), numberArg('by', by, 1)),
    )
  }
  delete(key, id) {
    return settle(() => this._n.indexDelete(name('index key', key), name('id', id)))
  }
}

class ClaimTier {
  constructor(n) {
    this._n = n
  }
  once(key, owner, ttl) {
    return settle(() => this._n.claimOnce(name('claim key', key), name('owner', owner), numberArg('ttl', ttl)))
  }
  release(key, owner) {
    return settle(() => this._n.claimRelease(name('claim key', key), name('owner', owner)))
  }
  extend(key, owner, ttl) {
    return settle(() => this._n.claimExtend(name('claim key', key), name('owner', owner), numberArg('ttl', ttl)))
  }
}

/**
 * The store API over a native store (any backend). `batched`: `false`, or the options of
 * a `Batcher` (js/batch.js): which per-value calls of one JS turn go to the engine
 * together, for backends that wait on a disk or a server.
 */
class StoreView {
  constructor(n, lim, batched = false) {
    this._n = n
    this._lim = lim
    this._batched = batched
    const batch = batched ? new Batcher(n.handle(), batched) : null
    this.stream = new StreamTier(n, lim, batch)
    this.kv = new KvTier(n, lim, batch)
    this.index = new IndexTier(n, lim)
    this.claim = new ClaimTier(n)
  }
  // Top-level event-stream aliases (SPEC §3.4).
  append(subject, event) {
    return this.stream.append(subject, event)
  }
  read(subject, options) {
    return this.stream.read(subject, options)
  }
  subscribe(subject, onEvent) {
    return this.stream.subscribe(subject, onEvent)
  }
  // Documents (SPEC §3.4).
  save(collection, id, doc) {
    return settle(() =>
      this._n.docSave(name('collection', collection), name('id', id), encode(doc, this._lim)),
    ).then(() => undefined)
  }
  get(collection, id) {
    return settle(() => this._n.docGet(name('collection', collection), name('id', id)), parseNullable)
  }
  list(collection, options) {
    return settle(() => this._n.docList(name('collection', collection), opts(options, this._lim)), parse)
  }
  delete(collection, id) {
    return settle(() => this._n.docDelete(name('collection', collection), name('id', id)))
  }
  /** A view whose every key lives under `name:id` of this view (SPEC §3.5). */
  scope(scopeName, id) {
    try {
      return new StoreView(this._n.scope(name('scope name', scopeName), name('scope id', id)), this._lim, this._batched)
    } catch (e) {
      throw require('./errors').fromNative(e)
    }
  }
  close() {
    return settle(() => this._n.close()).then(() => undefined)
  }
}

class MemoryStoreAdapter extends StoreView {
  /** @param {{ limits?: { maxValueBytes?, maxDepth?, maxNameBytes? }, values?: 'json' | 'strict' }} [options] */
  constructor(options) {
    const lim = limitsOf(options)
    let n
    try {
      n = native.NativeStore.memory(outbox, optionsText(options))
    } catch (e) {
      throw require('./errors').fromNative(e)
    }
    super(n, lim)
  }
  async init() {}
}

/**
 * The store on disk (SPEC §9): state in memory, every change in a checksummed write-ahead
 * log under `dataDir` before its call resolves. Opens on first use or in `init()`.
 */
class FileStoreAdapter extends StoreView {
  /**
   * @param {{ dataDir: string, durability?: 'always' | 'batch' | 'none',
   *   recovery?: 'strict' | 'salvage', syncWindowMs?: number, compactAfterBytes?: number,
   *   limits?: object, values?: 'json' | 'strict' }} options
   */
  constructor(options) {
    if (options === null || typeof options !== 'object' || typeof options.dataDir !== 'string') {
      throw new NventError('NVENT_INVALID_ARGUMENT', 'FileStoreAdapter needs { dataDir: string }')
    }
    const lim = limitsOf(options)
    let n
    try {
      n = native.NativeStore.file(outbox, optionsText(options))
    } catch (e) {
      throw require('./errors').fromNative(e)
    }
    // Appends only: reads answer from memory at once, and a kv.set waits for its own
    // write. 32 per call lets the log writer write one batch while the next gathers
    // (measured with 64 appends in flight: ~8% faster than one batch per turn).
    super(n, lim, { kinds: 'a', maxCalls: 32 })
  }
  /** Opens the data dir now (lock, recovery) instead of on first use. */
  init() {
    return settle(() => this._n.init(), none)
  }
  /** What opening found: `{ generation, snapshotRecords, logRecords, torn: [...], skipped: [...] }`. */
  recoveryReport() {
    return settle(() => this._n.recoveryReport(), parseNullable)
  }
}

module.exports = { MemoryStoreAdapter, FileStoreAdapter, StoreView }
