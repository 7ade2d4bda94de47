'use strict'
// Settling native results. A native method returns its result directly when the engine
// finished on the calling thread (memory backends), or a Promise when it had to wait
// (file, Redis). Either way the caller gets a Promise; errors become NventErrors.

const { fromNative, rethrowNative } = require('./errors')

function isThenable(r) {
  return r !== null && typeof r === 'object' && typeof r.then === 'function'
}

/** `thunk()` calls native; `map` converts its result. Always returns a Promise. */
function settle(thunk, map) {
  let r
  try {
    r = thunk()
  } catch (e) {
    return Promise.reject(fromNative(e))
  }
  if (isThenable(r)) return map ? r.then(map, rethrowNative) : r.then(undefined, rethrowNative)
  if (!map) return Promise.resolve(r)
  try {
    return Promise.resolve(map(r))
  } catch (e) {
    return Promise.reject(e)
  }
}

/** Calls native synchronously; errors become NventErrors. */
function sync(thunk) {
  try {
    return thunk()
  } catch (e) {
    throw fromNative(e)
  }
}

module.exports = { settle, sync, isThenable }
