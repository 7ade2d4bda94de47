'use strict'
// The stream coordinator (SPEC §7) and the wiring registry. The engine does the work
// (src/coordinator): persistence, channel routing, instance ids. Engine adapters are
// handed to it directly; any other store or stream object (a JS adapter from the
// registry) is reached through an outbox bridge, so JS adapters work here as native ones do.

const native = require('./native')
const { outbox, register, unregister } = require('./outbox')
const { encodeOptions } = require('./codec')
const { NventError, fromNative, describeThrown } = require('./errors')
const { callUser } = require('./isolate')
const { getEventBus, EventBus } = require('./bus')

/**
 * Serves the engine's calls (`{ call, method, args }`) on a JS object. The object is user
 * code: whatever it throws or rejects with, or a result JSON cannot carry, fails that one
 * call (js/isolate.js callUser, js/errors.js describeThrown).
 */
function bridge(invoke) {
  return register((msg) => {
    const fail = (e) => {
      const { message, code } = describeThrown(e)
      outbox.settleCall(msg.call, false, message, code)
    }
    const ok = (r) => {
      let text
      try {
        text = JSON.stringify(r === undefined ? null : r)
      } catch (e) {
        return fail(e)
      }
      // JSON.stringify gives undefined for a function or a symbol: no result.
      outbox.settleCall(msg.call, true, typeof text === 'string' ? text : 'null')
    }
    // Called after the outbox's dispatch, as a microtask, not inside it.
    queueMicrotask(() => callUser(invoke, msg.method, msg.args, ok, fail))
  })
}

function eventLogOf(store, targets) {
  if (store && store._n instanceof native.NativeStore) return store._n.asEventLog()
  const append =
    store && store.stream && typeof store.stream.append === 'function'
      ? (s, e) => store.stream.append(s, e)
      : store && typeof store.append === 'function'
        ? (s, e) => store.append(s, e)
        : null
  if (!append) throw new NventError('NVENT_INVALID_ARGUMENT', 'the coordinator needs a store with stream.append or append')
  const t = bridge((_method, args) => append(args[0], args[1]))
  targets.push(t)
  return native.NativeEventLog.fromJs(outbox, t)
}

function publisherOf(stream, targets) {
  if (stream && stream._n instanceof native.NativeStream) return stream._n.asPublisher()
  if (!stream || typeof stream.publish !== 'function') {
    throw new NventError('NVENT_INVALID_ARGUMENT', 'the coordinator needs a stream adapter with publish')
  }
  const t = bridge((_method, args) => stream.publish(args[0], args[1]))
  targets.push(t)
  return native.NativePublisher.fromJs(outbox, t)
}

/**
 * @param {{ bus?: EventBus, store?: object, stream?: object, prefix?: string,
 *   channels?: { storeSync?: boolean, flowEvents?: boolean, clientMessages?: boolean },
 *   enableStoreSync?: boolean, enableFlowEvents?: boolean, enableClientMessages?: boolean,
 *   instanceId?: string }} [options]
 */
function createStreamCoordinator(options = {}) {
  let nativeCoordinator = null
  let targets = []
  const api = {
    get instanceId() {
      return nativeCoordinator ? nativeCoordinator.instanceId : undefined
    },
    async start() {
      if (nativeCoordinator) return
      const current = require('./registry').currentAdapters()
      const bus = options.bus || getEventBus()
      if (!(bus instanceof EventBus)) {
        throw new NventError('NVENT_INVALID_ARGUMENT', 'bus must be an EventBus from @nvent/engine')
      }
      const store = options.store || (current && current.store)
      const stream = options.stream || (current && current.stream)
      const { bus: _b, store: _s, stream: _t, ...rest } = options
      targets = []
      try {
        const log = eventLogOf(store, targets)
        const pub = publisherOf(stream, targets)
        nativeCoordinator = new native.NativeCoordinator(bus._native, log, pub, encodeOptions(rest, 'coordinator options'))
        nativeCoordinator.start()
        bus._invalidate()
        api._bus = bus
      } catch (e) {
        for (const t of targets) unregister(t)
        nativeCoordinator = null
        throw fromNative(e)
      }
    },
    async stop() {
      if (!nativeCoordinator) return
      nativeCoordinator.stop()
      nativeCoordinator = null
      if (api._bus) api._bus._invalidate()
      for (const t of targets) unregister(t)
      targets = []
    },
  }
  return api
}

/** Starts and stops every wiring once (idempotent). Takes `{ streamCoordinator }` or flat options. */
function createWiringRegistry(options = {}) {
  const coordinatorOptions = options.streamCoordinator ? { ...options, ...options.streamCoordinator } : options
  delete coordinatorOptions.streamCoordinator
  const wirings = [createStreamCoordinator(coordinatorOptions)]
  let started = false
  return {
    wirings,
    async start() {
      if (started) return
      started = true
      for (const w of wirings) await w.start()
    },
    async stop() {
      if (!started) return
      started = false
      for (const w of wirings) await w.stop()
    },
  }
}

module.exports = { createStreamCoordinator, createWiringRegistry }
