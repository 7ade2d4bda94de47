'use strict'
// The per-value store calls (kv.get, kv.set, stream.append) made in one JS turn, sent to the
// engine in one native call and settled from one result, where each call alone would cost a
// native call, a task and a settlement of its own. The file store applies a run of appends
// under one lock with one journal submission; Redis sends the batch as one pipeline
// (src/store/batch.rs `Store::batch`). Each call still succeeds or fails on its own.
//
// Order: a batch goes out at the end of the turn, when it is full, or before any other
// native call (settle.js `beforeNextCall`), so the engine sees calls in the order they
// were made.

const native = require('./native')
const { ticket, isTicket, beforeNextCall, sent } = require('./settle')
const { NventError, fromNative } = require('./errors')

class Batcher {
  /**
   * `kinds`: the calls this backend batches (`g` kv.get, `s` kv.set, `a` append).
   * A batch is sent once it holds `maxCalls` calls or `maxChars` characters of values,
   * turn over or not, so the engine works on one while this thread gathers the next.
   */
  constructor(handle, { kinds, maxCalls, maxChars = Infinity }) {
    this._h = handle
    this.kinds = kinds
    this._maxCalls = maxCalls
    this._maxChars = maxChars
    this._reset()
    this._endOfTurn = () => this.flush()
  }
  _reset() {
    this._kinds = ''
    this._keys = []
    this._values = []
    this._ttls = []
    this._waiting = []
    this._chars = 0
  }
  /**
   * Queues one call; `kind` as in `Store::batch`. Returns its Promise. For an append,
   * `from` is what its record is built from: the event's plain copy (codec.plainRecord)
   * or the text sent.
   */
  push(kind, key, value, ttl, from) {
    if (this._waiting.length === 0) {
      queueMicrotask(this._endOfTurn)
      beforeNextCall(this)
    }
    this._kinds += kind
    this._keys.push(key)
    if (value !== undefined) {
      this._values.push(value)
      this._chars += value.length
    }
    if (kind === 's') this._ttls.push(ttl === undefined ? -1 : ttl)
    return new Promise((resolve, reject) => {
      this._waiting.push(resolve, reject, from)
      if (this._chars >= this._maxChars || this._waiting.length >= 3 * this._maxCalls) this.flush()
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
    sent(this)
    let r
    try {
      // Names hold no NUL (codec.name refuses it); values are JSON texts from
      // JSON.stringify without indentation: never a raw newline.
      r = native.storeBatch(this._h, kinds, keys.join('\0'), values.join('\n'), ttls)
    } catch (e) {
      failAll(waiting, fromNative(e))
      return
    }
    const done = (result) => settleAll(waiting, kinds, typeof result === 'string' ? JSON.parse(result) : result)
    if (isTicket(r)) ticket(r.nventTicket).then(done, (e) => failAll(waiting, e))
    else done(r)
  }
}

function failAll(waiting, e) {
  for (let i = 1; i < waiting.length; i += 3) waiting[i](e)
}

// `result`: `{ v: [per call: value, null, or an append's id alone], e: [[index, code, path, message]] }`.
function settleAll(waiting, kinds, result) {
  const failed = new Set()
  for (const [i, code, path, message] of result.e) {
    failed.add(i)
    waiting[3 * i + 1](new NventError(code, message, path ? { path } : {}))
  }
  const v = result.v
  for (let i = 0; i < v.length; i++) {
    if (failed.has(i)) continue
    const kind = kinds.charCodeAt(i)
    // A set resolves to undefined, as kv.set does.
    if (kind === 115 /* s */) waiting[3 * i](undefined)
    else if (kind === 97 /* a */ && typeof v[i] === 'string') waiting[3 * i](record(v[i], waiting[3 * i + 2]))
    else waiting[3 * i](v[i])
  }
}

/**
 * The record `{ id, ts, ...event }` of an append the engine answered with its id alone:
 * it stored the event text exactly as sent. `from` is the plain copy that text was made of
 * (its `id` and `ts` keys come first, unset), or the text itself.
 */
function record(id, from) {
  const ts = Number(id.slice(0, id.indexOf('-')))
  if (typeof from === 'string') return JSON.parse(`{"id":"${id}","ts":${ts},${from.slice(1)}`)
  from.id = id
  from.ts = ts
  return from
}

module.exports = { Batcher }
