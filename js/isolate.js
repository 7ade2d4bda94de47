'use strict'
// Calling user callbacks (SPEC §2, §4, §6): a job handler, a subscriber, a listener or a JS
// adapter may throw or reject with anything — a non-Error, an object without a prototype, a
// Proxy whose traps throw, a thenable whose `then` throws — and that fails only its own
// work: nothing it throws ever leaves these functions, so it cannot crash the process or
// stop delivery to the other callbacks. Errors of subscribers and listeners are published
// on the bus as `nvent.error`; what a thrown value says is read by `describeThrown`
// (js/errors.js), the one place that turns a caught value into text.

const { NventError, describeThrown } = require('./errors')

let reporter = null

/** Set by bus.js: where errors go (the process bus). */
function setReporter(fn) {
  reporter = fn
}

function report(source, err, bus) {
  const { message, code } = describeThrown(err)
  const data = { source, code: code || 'NVENT_HANDLER_ERROR', message }
  try {
    if (bus) bus.publish({ type: 'nvent.error', data })
    else if (reporter) reporter({ type: 'nvent.error', data })
  } catch (e) {
    // An error handler that fails itself must not loop; the console is the last resort.
    lastResort('while reporting a handler error', e)
  }
}

/** Writes a failure that has nowhere else to go to the console (never the value itself). */
function lastResort(what, e) {
  try {
    console.error(`[nvent] ${what}: ${describeThrown(e).message}`)
  } catch {
    // a broken console: nothing left to tell
  }
}

// The real `then` of native Promises: a result whose `then` is this one is a Promise that
// settles exactly once, so its `then` can be called directly (the fast path of async
// handlers).
const promiseThen = Promise.prototype.then

/**
 * Calls `fn(a, b)` and hands its outcome to `ok(value)` or `fail(thrown)`, exactly once
 * and never by throwing: a sync throw fails; a returned thenable is adopted the way
 * `await` adopts it (a `then` that throws, or that calls back twice, settles once).
 * `ok`/`fail` run synchronously for a sync outcome.
 */
function callUser(fn, a, b, ok, fail) {
  let r
  try {
    r = fn(a, b)
  } catch (e) {
    return fail(e)
  }
  adopt(r, ok, fail)
}

/** Hands a callback's result `r` to `ok` or, when it is a thenable that fails, to `fail`. */
function adopt(r, ok, fail) {
  if (r === null || (typeof r !== 'object' && typeof r !== 'function')) return ok(r)
  let then
  try {
    then = r.then
  } catch (e) {
    // a throwing `then` getter: await would reject with what it threw
    return fail(e)
  }
  if (typeof then !== 'function') return ok(r)
  if (then === promiseThen) {
    try {
      promiseThen.call(r, ok, fail)
      return
    } catch {
      // not a real Promise after all (native then refuses it): adopted as a thenable below
    }
  }
  // A user-made thenable: a native Promise resolved with it calls its `then` once, with
  // resolve functions that work only once, and rejects if `then` throws.
  promiseThen.call(
    new Promise((resolve) => resolve(r)),
    ok,
    fail,
  )
}

/**
 * Wraps `fn` so that sync throws and async rejections are reported, never thrown. A
 * handler failing on an `nvent.error` event is reported on the console instead, so that
 * a failing `'*'` handler cannot loop through its own reports.
 */
function isolate(source, fn, bus) {
  // The sync path (most bus handlers) allocates nothing per call: the failure closure is
  // made only for a result that is an object (a Promise to watch).
  const failed = (guard, e) =>
    guard ? lastResort('an nvent.error handler failed', e) : report(source, e, bus)
  return (arg) => {
    // Read before the handler runs: a handler cannot turn its own failure report into
    // something that is reported again.
    const guard = isErrorEvent(arg)
    let r
    try {
      r = fn(arg)
    } catch (e) {
      return failed(guard, e)
    }
    if (r !== null && (typeof r === 'object' || typeof r === 'function')) {
      adopt(r, ignore, (e) => failed(guard, e))
    }
  }
}

function ignore() {}

// `arg` may be a caller's own event object (bus.publish): reading its `type` runs no more
// user code than publish itself did, but is guarded all the same.
function isErrorEvent(arg) {
  if (arg === null || typeof arg !== 'object') return false
  try {
    return arg.type === 'nvent.error'
  } catch {
    return false
  }
}

function requireFunction(what, fn) {
  if (typeof fn !== 'function') {
    throw new NventError('NVENT_INVALID_ARGUMENT', `${what} must be a function`)
  }
}

module.exports = { isolate, callUser, report, lastResort, setReporter, requireFunction }
