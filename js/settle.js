'use strict'
// Settling native results. A native method returns its result directly when the engine
// finished on the calling thread (memory backends), or a ticket `{ nventTicket }` when it had to
// wait (file, Redis): the result then arrives through the outbox, batched with others, and
// settles the Promise of that ticket. Either way the caller gets a Promise; errors become
// NventErrors.

const native = require('./native')
const { outbox, register } = require('./outbox')
const { NventError, fromNative, rethrowNative } = require('./errors')

const tickets = new Map()
// Keeps the process alive while a ticket is open (the outbox itself never does): an
// awaited file write must not be cut off by the process exiting.
let keepalive = null

function isThenable(r) {
  return r !== null && typeof r === 'object' && typeof r.then === 'function'
}

/** A native result that is a settlement ticket (see src/napi/mod.rs). */
function isTicket(r) {
  return r !== null && typeof r === 'object' && typeof r.nventTicket === 'number'
}

const target = register((msg) => {
  const open = tickets.get(msg.t)
  if (open === undefined) return
  tickets.delete(msg.t)
  if (tickets.size === 0 && keepalive) keepalive.unref()
  const [resolve, reject, map] = open
  if (msg.e) {
    const [code, path, message] = msg.e
    reject(new NventError(code, message, path ? { path } : {}))
    return
  }
  // `r`: a JSON result sent as the value itself (already parsed with the batch).
  if (!map || 'r' in msg) return resolve('r' in msg ? msg.r : msg.v)
  try {
    resolve(map(msg.v))
  } catch (e) {
    reject(e)
  }
})
native.setSettlementTarget(outbox, target)

function ticket(t, map) {
  if (keepalive === null) keepalive = setInterval(() => {}, 1 << 30)
  if (tickets.size === 0) keepalive.ref()
  return new Promise((resolve, reject) => tickets.set(t, [resolve, reject, map]))
}

// Batches of calls gathered in this JS turn (js/batch.js) are sent before any other native
// call, so that calls reach the engine in the order they were made.
const gathered = new Set()

/** `batch.flush()` runs before the next native call made through settle/sync. */
function beforeNextCall(batch) {
  gathered.add(batch)
}

/** `batch` was sent: nothing to do before the next call. */
function sent(batch) {
  gathered.delete(batch)
}

function sendGathered() {
  for (const batch of gathered) batch.flush()
}

/** `thunk()` calls native; `map` converts its result. Always returns a Promise. */
function settle(thunk, map) {
  if (gathered.size > 0) sendGathered()
  let r
  try {
    r = thunk()
  } catch (e) {
    return Promise.reject(fromNative(e))
  }
  if (isTicket(r)) return ticket(r.nventTicket, map)
  if (isThenable(r)) return map ? r.then(map, rethrowNative) : r.then(undefined, rethrowNative)
  if (!map) return Promise.resolve(r)
  try {
    return Promise.resolve(map(r))
  } catch (e) {
    return Promise.reject(e)
  }
}

/**
 * Calls `ok` with a native result now when it is already there (memory: no microtask hop),
 * or when its ticket settles; `fail` gets an NventError.
 */
function whenDone(r, ok, fail) {
  if (isTicket(r)) ticket(r.nventTicket).then(ok, fail)
  else if (isThenable(r)) r.then(ok, (e) => fail(fromNative(e)))
  else ok(r)
}

/**
 * Resolves once everything the engine queued for JS before this call was handed to its
 * targets (the outbox is one FIFO; src/napi/mod.rs `outbox_barrier`). `unsubscribe()` waits
 * for it before dropping a subscriber's target: an append or publish that resolved before
 * `unsubscribe()` was called is still delivered (SPEC §3.1, §4).
 */
function delivered() {
  return ticket(native.outboxBarrier())
}

/** Calls native synchronously; errors become NventErrors. */
function sync(thunk) {
  if (gathered.size > 0) sendGathered()
  try {
    return thunk()
  } catch (e) {
    throw fromNative(e)
  }
}

module.exports = { settle, sync, isThenable, isTicket, ticket, whenDone, beforeNextCall, sent, delivered }
