'use strict'
// EventBus (SPEC §6): the engine keeps the subscriptions and their order; a publish from
// JS asks it which handlers to call and calls them synchronously, here. Events the engine
// publishes (stored records, errors) arrive through the outbox, asynchronously, in order.

const native = require('./native')
const { outbox, register, unregister, target } = require('./outbox')
const { encode } = require('./codec')
const { NventError } = require('./errors')
const { isolate, setReporter, requireFunction } = require('./isolate')

class EventBus {
  constructor() {
    this._native = new native.NativeBus(outbox)
  }

  /** Delivers `event` to matching handlers, synchronously, in subscription order. */
  publish(event) {
    if (event === null || typeof event !== 'object' || typeof event.type !== 'string') {
      throw new NventError('NVENT_INVALID_ARGUMENT', 'a bus event must be an object with a string type')
    }
    const runId = typeof event.runId === 'string' ? event.runId : null
    const ids = this._native.route(event.type, runId)
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
    return once(() => {
      this._native.unsubscribe(sub)
      unregister(t)
    })
  }

  subscribeRunId(runId, handler) {
    requireFunction('handler', handler)
    const t = register(isolate('bus', handler, this))
    const sub = this._native.subscribeRunId(String(runId), t)
    return once(() => {
      this._native.unsubscribe(sub)
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
