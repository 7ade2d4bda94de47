'use strict'
// Batching of the per-value store calls (kv.get, kv.set, stream.append) made in one JS
// turn: they cross to the engine in one native call and settle from one result, where
// each call alone would cost a native call, a task and an outbox message of its own. The
// engine sends them as one Redis pipeline (src/store/redis/mod.rs `run_batch`). Each call
// still succeeds or fails on its own (src/store/facade.rs `Store::batch`).

const native = require('./native')
const { ticket } = require('./settle')
const { NventError, fromNative } = require('./errors')

// Calls per native batch: bounds one pipeline (a loop of many calls in one turn is sent
// in several).
const MAX = 1024

class Batcher {
  constructor(handle) {
    this._h = handle
    this._reset()
    this._flush = () => this.flush()
  }
  _reset() {
    this._kinds = ''
    this._keys = []
    this._values = []
    this._ttls = []
    this._waiting = []
  }
  /** Queues one call; `kind` as in `Store::batch`. Returns its Promise. */
  push(kind, key, value, ttl) {
    if (this._waiting.length === 0) queueMicrotask(this._flush)
    this._kinds += kind
    this._keys.push(key)
    if (value !== undefined) this._values.push(value)
    if (kind === 's') this._ttls.push(ttl === undefined ? -1 : ttl)
    return new Promise((resolve, reject) => {
      this._waiting.push(resolve, reject)
      if (this._waiting.length >= 2 * MAX) this.flush()
    })
  }
  flush() {
    const waiting = this._waiting
    if (waiting.length === 0) return
    const kinds = this._kinds
    const keys = this._keys
    const values = this._values
    const ttls = this._ttls
    this._reset()
    let r
    try {
      r = native.storeBatch(this._h, kinds, keys, values, ttls)
    } catch (e) {
      const err = fromNative(e)
      for (let i = 1; i < waiting.length; i += 2) waiting[i](err)
      return
    }
    const done = (text) => settleAll(waiting, kinds, typeof text === 'string' ? JSON.parse(text) : text)
    const fail = (e) => {
      for (let i = 1; i < waiting.length; i += 2) waiting[i](e)
    }
    if (r !== null && typeof r === 'object' && typeof r.nventTicket === 'number') ticket(r.nventTicket).then(done, fail)
    else done(r)
  }
}

function settleAll(waiting, kinds, result) {
  const failed = new Set()
  for (const [i, code, path, message] of result.e) {
    failed.add(i)
    waiting[2 * i + 1](new NventError(code, message, path ? { path } : {}))
  }
  const v = result.v
  for (let i = 0; i < v.length; i++) {
    if (failed.has(i)) continue
    // A set resolves to undefined, as kv.set does.
    waiting[2 * i](kinds.charCodeAt(i) === 115 /* s */ ? undefined : v[i])
  }
}

module.exports = { Batcher }
