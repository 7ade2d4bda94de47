'use strict'
// EventBus (SPEC §6): the engine keeps the subscriptions and their order; a publish from
// JS asks it which handlers to call and calls them synchronously, here. Events the engine
// publishes (stored records, errors) arrive through the outbox, asynchronously, in order.

const native = require('./native')
const { outbox, register, unregister, target } = require('./outbox')
const { encode } = require('./codec')
const { NventError } = require('./errors')
const { isolate, setReporter, requireFunction } = require('./isolate')

const ROUTE_CACHE_SIZE = 10_000

class EventBus {
  constructor() {
    this._native = new native.NativeBus(outbox)
    this._h = this._native.handle()
    // The engine's routing answers, cached per (type, runId) until a subscription changes:
    // a publish then costs a Map lookup instead of a call into the engine.
    this._routes = new Map()
  }

  /** Forgets cached routes; called on every subscription change (also the coordinator's). */
  _invalidate() {
    this._routes.clear()
  }

  /** Delivers `event` to matching handlers, synchronously, in subscription order. */
  publish(event) {
    if (event === null || typeof event !== 'object' || typeof event.type !== 'string') {
      throw new NventError('NVENT_INVALID_ARGUMENT', 'a bus event must be an object with a string type')
    }
    const runId = typeof event.runId === 'string' ? event.runId : null
    const key = runId === null ? event.type : event.type + '\u0000' + runId
    let ids = this._routes.get(key)
    if (ids === undefined) {
      ids = native.busRoute(this._h, event.type, runId)
      if (this._routes.size >= ROUTE_CACHE_SIZE) this._routes.clear()
      this._routes.set(key, ids)
    }
    let toNative = false
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] === -1) {
        toNative = true
        continue
      }
      const fn = target(ids[i])
      if (fn !== undefined) fn(event)
    }
    if (toNative) this._native.publishNative(encode(event))
  }

  /** `type` or `'*'`; returns the unsubscribe function. */
  onType(type, handler) {
    requireFunction('handler', handler)
    const t = register(isolate('bus', handler, this))
    const sub = this._native.onType(String(type), t)
    this._invalidate()
    return once(() => {
      this._native.unsubscribe(sub)
      this._invalidate()
      unregister(t)
    })
  }

  subscribeRunId(runId, handler) {
    requireFunction('handler', handler)
    const t = register(isolate('bus', handler, this))
    const sub = this._native.subscribeRunId(String(runId), t)
    this._invalidate()
    return once(() => {
      this._native.unsubscribe(sub)
      this._invalidate()
      unregister(t)
    })
  }
}

function once(fn) {
  let done = false
  return () => {
    if (done) return
    done = true
    fn()
  }
}

const KEY = Symbol.for('nvent.engine.eventBus')

/** The process-wide bus; kept on globalThis so that it survives module reloads. */
function getEventBus() {
  if (!globalThis[KEY]) globalThis[KEY] = new EventBus()
  return globalThis[KEY]
}

setReporter((event) => getEventBus().publish(event))

module.exports = { EventBus, getEventBus }
