'use strict'
// NventError: the one error class every engine call throws or rejects with (SPEC §2).

class NventError extends Error {
  /**
   * @param {string} code stable `NVENT_*` code
   * @param {string} message what went wrong and what to fix
   * @param {{ path?: string, cause?: unknown }} [extra]
   */
  constructor(code, message, extra = {}) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause })
    this.name = 'NventError'
    this.code = code
    if (extra.path !== undefined) this.path = extra.path
  }
}

const MARK = '\u0001'

/**
 * Turns an error thrown by the native addon into an NventError. The addon encodes
 * `\u0001CODE\u0001PATH\u0001MESSAGE` in the message so the code survives async rejections.
 */
function fromNative(err) {
  if (err instanceof NventError) return err
  const msg = err && typeof err.message === 'string' ? err.message : String(err)
  if (msg.charCodeAt(0) === 1) {
    const a = msg.indexOf(MARK, 1)
    const b = msg.indexOf(MARK, a + 1)
    if (a > 0 && b > a) {
      const code = msg.slice(1, a)
      const path = msg.slice(a + 1, b)
      return new NventError(code, msg.slice(b + 1), path ? { path } : {})
    }
  }
  // napi argument conversion failures (a number where a string belongs, ...).
  return new NventError('NVENT_INVALID_ARGUMENT', msg, { cause: err })
}

function rethrowNative(err) {
  throw fromNative(err)
}

module.exports = { NventError, fromNative, rethrowNative }
