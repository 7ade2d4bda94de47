'use strict'
// Redis backends (SPEC §3, §4, §9): the store and the stream over one Redis shared by many
// processes. Constructors do no I/O; the engine connects on first use. `nvent.stream.gap`
// events (a subscriber connection came back after a drop) go to the process bus.

const native = require('./native')
const { outbox, register } = require('./outbox')
const { optionsText, limitsOf } = require('./codec')
const { fromNative, NventError } = require('./errors')
const { StoreView } = require('./store')
const { StreamView } = require('./stream')
const { QueueView } = require('./queue')

// Fields whose value is `undefined` are treated as absent (configs often carry
// `password: process.env.X`).
function clean(o, what) {
  if (o === undefined || o === null) return undefined
  if (typeof o !== 'object' || Array.isArray(o)) {
    throw new NventError('NVENT_INVALID_ARGUMENT', `${what} must be an object`)
  }
  const out = {}
  for (const k of Object.keys(o)) {
    if (o[k] !== undefined) out[k] = o[k]
  }
  return out
}

function redisOptions(options) {
  const o = clean(options, 'redis adapter options') ?? {}
  if (o.connection !== undefined) {
    const c = clean(o.connection, 'connection')
    if (c && c.tls && typeof c.tls === 'object') c.tls = clean(c.tls, 'connection.tls')
    o.connection = c
  }
  if (o.streams && typeof o.streams === 'object') {
    o.streams = clean(o.streams, 'streams')
    if (o.streams.trim) o.streams.trim = clean(o.streams.trim, 'streams.trim')
  }
  return o
}

let gapTarget = 0
function gapTargetId() {
  if (gapTarget === 0) {
    gapTarget = register((event) => require('./bus').getEventBus().publish(event))
  }
  return gapTarget
}

class RedisStoreAdapter extends StoreView {
  /**
   * @param {{ connection?: object, prefix?: string, streams?: { trim?: { maxLen?: number, approx?: boolean } },
   *   values?: 'json' | 'strict' }} [options]
   */
  constructor(options) {
    let n
    let o
    let lim
    try {
      o = redisOptions(options)
      lim = limitsOf(o)
      n = native.NativeStore.redis(outbox, optionsText(o))
    } catch (e) {
      throw fromNative(e)
    }
    // One pipeline per batch, in pieces of ~8 KB so JS encodes the next while the engine
    // sends the last (100 concurrent 200-byte appends: ~60k/s as one batch per turn,
    // ~85k/s in ~8 KB pieces).
    super(n, lim, { kinds: 'gsa', maxCalls: 1024, maxChars: 8192 })
  }
  async init() {}
}

class RedisStreamAdapter extends StreamView {
  /** @param {{ connection?: object, prefix?: string, retain?: number, values?: 'json' | 'strict' }} [options] */
  constructor(options) {
    let n
    let lim
    try {
      const o = redisOptions(options)
      lim = limitsOf(o)
      n = native.NativeStream.redis(outbox, optionsText(o), gapTargetId())
    } catch (e) {
      throw fromNative(e)
    }
    super(n, lim)
  }
}

/**
 * Jobs on a Redis shared by many processes (SPEC §5, §9; layout and guarantees:
 * docs/REDIS.md). Workers hold leases that they renew; a crashed worker's jobs run again
 * once their lease expires. A running worker keeps the process alive until `close()`.
 */
class RedisQueueAdapter extends QueueView {
  /**
   * @param {{ connection?: object, prefix?: string, eventsMaxLen?: number,
   *   defaultJobOptions?: object, worker?: object, closeTimeout?: number, limits?: object }} [options]
   */
  constructor(options) {
    let o
    try {
      o = redisOptions(options)
    } catch (e) {
      throw fromNative(e)
    }
    super((signals) => native.NativeQueue.redis(outbox, signals, optionsText(o)), o)
    this._batchAdds = true
  }
}

module.exports = { RedisStoreAdapter, RedisStreamAdapter, RedisQueueAdapter }
