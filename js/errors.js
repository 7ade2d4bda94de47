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

const { isProxy } = require('node:util').types

/**
 * What a thrown or rejected value says, read without ever throwing (SPEC §2): user code
 * may throw anything — a non-Error, an object without a prototype, a Proxy whose every trap
 * throws (revoked or not), a value whose `toString`/`Symbol.toPrimitive` throws. Every place
 * that turns a caught value into text or a code asks here (one rule in one place).
 *
 * Returns `{ message, code, error }`: `message` is the value's own message (an Error's, or a
 * string thrown as is) or else a fixed text naming what was thrown; `code` its string
 * `code` property if it has one; `error` the value itself when it is a real Error (safe to
 * keep as a `cause`), else undefined.
 */
function describeThrown(v) {
  if (typeof v === 'string') return { message: v, code: undefined, error: undefined }
  if (v === null || (typeof v !== 'object' && typeof v !== 'function')) {
    // Primitives convert without running user code (String(symbol) is allowed).
    return { message: `a non-Error value was thrown: ${String(v)}`, code: undefined, error: undefined }
  }
  // A Proxy is never asked anything: its traps are user code that may throw or lie.
  if (isProxy(v)) return { message: 'a non-Error value was thrown: a Proxy', code: undefined, error: undefined }
  let message
  let code
  let error
  try {
    const m = v.message
    if (typeof m === 'string') message = m
  } catch {
    // a throwing `message` getter: described below
  }
  try {
    const c = v.code
    if (typeof c === 'string') code = c
  } catch {
    // a throwing `code` getter: no code
  }
  try {
    if (v instanceof Error) error = v
  } catch {
    // unreachable for non-Proxies, kept for safety: not an Error then
  }
  if (message !== undefined) return { message: message, code, error }
  let text
  try {
    const s = String(v)
    if (typeof s === 'string') text = s
  } catch {
    // toString / Symbol.toPrimitive threw, or there is none (no prototype)
  }
  let kind = 'an object'
  try {
    if (typeof v === 'function') kind = 'a function'
    else if (Object.getPrototypeOf(v) === null) kind = 'an object without a prototype'
  } catch {
    // cannot happen without a Proxy; the generic kind stays
  }
  message =
    text === undefined
      ? `a non-Error value was thrown: ${kind} that cannot be converted to a string`
      : `a non-Error value was thrown: ${text}`
  return { message: message, code, error }
}

/**
 * Turns an error thrown by the native addon into an NventError. The addon encodes
 * `\u0001CODE\u0001PATH\u0001MESSAGE` in the message so the code survives async rejections.
 */
function fromNative(err) {
  if (!isProxy(err) && err instanceof NventError) return err
  const { message: msg, error } = describeThrown(err)
  if (msg.charCodeAt(0) === 1) {
    const a = msg.indexOf(MARK, 1)
    const b = msg.indexOf(MARK, a + 1)
    if (a > 0 && b > a) {
      const code = msg.slice(1, a)
      const path = msg.slice(a + 1, b)
      return new NventError(code, msg.slice(b + 1), path ? { path } : {})
    }
  }
  // napi argument conversion failures (a number where a string belongs, ...), and what a
  // caller's value threw while its arguments were read.
  return new NventError('NVENT_INVALID_ARGUMENT', msg, { cause: error })
}

function rethrowNative(err) {
  throw fromNative(err)
}

module.exports = { NventError, fromNative, rethrowNative, describeThrown }
