'use strict'
// StreamAdapter (SPEC §4) over the engine. Handlers are called from the outbox; a RegExp
// `filter` is applied here (JS regex semantics), a string filter (glob) by the engine.

const native = require('./native')
const { outbox, register, unregister } = require('./outbox')
const { encodeRecord, encodeOptions, name, optionsText, limitsOf } = require('./codec')
const { settle, whenDone, delivered } = require('./settle')
const { NventError } = require('./errors')
const { isolate, requireFunction } = require('./isolate')

/** Drops a handler's target once what the engine queued for it was delivered. */
function retire(t) {
  return delivered().then(() => unregister(t))
}

class StreamView {
  /** `lim`: the adapter's limits and values mode (codec.limitsOf). */
  constructor(n, lim) {
    this._n = n
    this._lim = lim
    this._subs = new Map()
  }
  async init() {}
  /** Any JSON object is an event (SPEC §4): `type` is optional; `timestamp` is filled when absent. */
  publish(topic, event) {
    return settle(() => this._n.publish(name('topic', topic), encodeRecord(event, 'event', this._lim))).then(() => undefined)
  }
  subscribe(topic, handler, options = {}) {
    return settle(() => {
      requireFunction('handler', handler)
      if (options === null || typeof options !== 'object') {
        throw new NventError('NVENT_INVALID_ARGUMENT', 'subscribe options must be an object')
      }
      const { filter, group, fromBeginning } = options
      let re = null
      let glob
      if (filter instanceof RegExp) re = filter
      else if (filter !== undefined && filter !== null) {
        if (typeof filter !== 'string') {
          throw new NventError('NVENT_INVALID_ARGUMENT', 'filter must be a glob string or a RegExp')
        }
        glob = filter
      }
      // The RegExp is user code too (a subclass may override exec): tested inside isolate.
      // A filter only matches a string `type` (RegExp.test would read undefined as "undefined").
      const t = register(
        isolate('stream', re ? (m) => typeof m.type === 'string' && ((re.lastIndex = 0), re.test(m.type)) && handler(m) : handler),
      )
      let r
      try {
        r = this._n.subscribe(name('topic', topic), t, encodeOptions({ group, filter: glob, fromBeginning }, 'subscribe options', this._lim))
      } catch (e) {
        unregister(t)
        throw e
      }
      return new Promise((resolve, reject) => whenDone(r, resolve, reject)).then((id) => {
        const handle = { id: String(id), topic, unsubscribe: () => this.unsubscribe(handle) }
        this._subs.set(handle.id, { id, t })
        return handle
      })
    })
  }
  /**
   * Resolves once the engine stopped calling the handler and every message it queued for
   * it before that was delivered (SPEC §4); nothing is delivered after.
   */
  unsubscribe(handle) {
    let sub
    return settle(() => {
      const key = handle && typeof handle === 'object' ? handle.id : handle
      sub = this._subs.get(String(key))
      if (!sub) return false
      this._subs.delete(String(key))
      return this._n.unsubscribe(sub.id)
    }).then(
      () => sub && retire(sub.t),
      (e) => (sub ? retire(sub.t) : Promise.resolve()).then(() => Promise.reject(e)),
    ).then(() => undefined)
  }
  listTopics() {
    return settle(() => this._n.listTopics())
  }
  getSubscriptionCount(topic) {
    return settle(() => this._n.subscriptionCount(name('topic', topic)))
  }
  shutdown() {
    for (const sub of this._subs.values()) unregister(sub.t)
    this._subs.clear()
    return settle(() => this._n.shutdown()).then(() => undefined)
  }
  close() {
    return this.shutdown()
  }
}

class MemoryStreamAdapter extends StreamView {
  /**
   * @param {{ retain?: number, values?: 'json' | 'strict' }} [options] `retain`: messages
   *   kept per topic for `fromBeginning`
   */
  constructor(options) {
    const lim = limitsOf(options)
    let n
    try {
      n = native.NativeStream.memory(outbox, optionsText(options))
    } catch (e) {
      throw require('./errors').fromNative(e)
    }
    super(n, lim)
  }
}

module.exports = { MemoryStreamAdapter, StreamView }
