'use strict'
// Handler isolation (SPEC §4, §6): a handler that throws or rejects never stops delivery
// to others; its error is published on the bus as `nvent.error`.

const { NventError } = require('./errors')

let reporter = null

/** Set by bus.js: where errors go (the process bus). */
function setReporter(fn) {
  reporter = fn
}

function report(source, err, bus) {
  const data = {
    source,
    code: (err && typeof err.code === 'string' && err.code) || 'NVENT_HANDLER_ERROR',
    message: err && typeof err.message === 'string' ? err.message : String(err),
  }
  try {
    if (bus) bus.publish({ type: 'nvent.error', data })
    else if (reporter) reporter({ type: 'nvent.error', data })
  } catch (e) {
    // An error handler that fails itself must not loop; the console is the last resort.
    console.error('[nvent] error while reporting a handler error:', e)
  }
}

/**
 * Wraps `fn` so that sync throws and async rejections are reported, never thrown. A
 * handler failing on an `nvent.error` event is reported on the console instead, so that
 * a failing `'*'` handler cannot loop through its own reports.
 */
function isolate(source, fn, bus) {
  return (arg) => {
    const guard = arg !== null && typeof arg === 'object' && arg.type === 'nvent.error'
    try {
      const r = fn(arg)
      if (r !== null && typeof r === 'object' && typeof r.then === 'function') {
        r.then(undefined, (e) => (guard ? console.error('[nvent]', e) : report(source, e, bus)))
      }
    } catch (e) {
      if (guard) console.error('[nvent]', e)
      else report(source, e, bus)
    }
  }
}

function requireFunction(what, fn) {
  if (typeof fn !== 'function') {
    throw new NventError('NVENT_INVALID_ARGUMENT', `${what} must be a function`)
  }
}

module.exports = { isolate, report, setReporter, requireFunction }
