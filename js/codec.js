'use strict'
// Values and names crossing into the engine (SPEC §2).
//
// Values mode 'json' (the default): a value is stored as JSON.stringify writes it, and
// crosses as that one call; only when JSON.stringify throws or writes nothing does a walk
// (`explain`) find the offender and its path. Lone surrogates (JSON.stringify writes them
// as \udXXX escapes) and nesting depth are checked by the engine on the text, which it
// checks anyway (size, depth, syntax), and which names the path itself.
//
// Values mode 'strict': a value is first checked in one walk for what JSON cannot carry
// exactly (functions, symbols, undefined, BigInt, NaN/±Infinity, Map/Set/class instances,
// Buffers/TypedArrays, lone surrogates, circular references, nesting deeper than the
// limit), then serialized by JSON.stringify. The walk records the path only when it fails,
// so the happy path costs one pass without allocations.
//
// The mode travels in an adapter's limits object (`lim.values`), which every call that
// encodes a value already passes.

const { NventError, describeThrown } = require('./errors')

const VALUE_MODES = ['json', 'strict']
const limits = { maxDepth: 128, maxValueBytes: 16 * 1024 * 1024, values: 'json' }
let active = limits
const objectProto = Object.prototype

function fail(code, path, reason) {
  const where = formatPath(path)
  const message =
    code === 'NVENT_CIRCULAR'
      ? `value at ${where} refers to itself (circular reference)`
      : code === 'NVENT_NESTING_TOO_DEEP'
        ? `value nests deeper than ${active.maxDepth} levels at ${where}; flatten it or raise the limit`
        : `value at ${where} cannot be stored as JSON: ${reason}`
  throw new NventError(code, message, { path: where })
}

function formatPath(path) {
  let out = '$'
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`
    else if (/^[A-Za-z_$][\w$]*$/.test(seg)) out += `.${seg}`
    else out += `[${JSON.stringify(seg)}]`
  }
  return out
}

function describe(v) {
  if (v === undefined) return 'undefined'
  if (typeof v === 'function') return 'a function'
  if (typeof v === 'symbol') return 'a symbol'
  if (typeof v === 'bigint') return 'a BigInt'
  if (typeof v === 'number') return `${v} (not a finite number)`
  if (Buffer.isBuffer(v)) return 'a Buffer (encode it, e.g. as base64)'
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return 'binary data (encode it, e.g. as base64)'
  const name = v && v.constructor && v.constructor.name
  return `an instance of ${name || 'an unknown class'} without toJSON()`
}

// Walks `v`; `path` is the stack of keys leading to it, `seen` the containers on that stack.
function check(v, key, path, seen, depth) {
  switch (typeof v) {
    case 'string':
      if (!v.isWellFormed()) fail('NVENT_NOT_SERIALIZABLE', path, 'string with a lone surrogate')
      return
    case 'number':
      if (!Number.isFinite(v)) fail('NVENT_NOT_SERIALIZABLE', path, describe(v))
      return
    case 'boolean':
      return
    case 'object':
      break
    default:
      fail('NVENT_NOT_SERIALIZABLE', path, describe(v))
  }
  if (v === null) return
  if (typeof v.toJSON === 'function' && !Buffer.isBuffer(v)) {
    // Date and friends are stored as what toJSON() returns, which is checked in turn.
    check(v.toJSON(key), key, path, seen, depth)
    return
  }
  if (seen.includes(v)) fail('NVENT_CIRCULAR', path)
  if (depth >= active.maxDepth) fail('NVENT_NESTING_TOO_DEEP', path)
  seen.push(v)
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      path.push(i)
      check(v[i], String(i), path, seen, depth + 1)
      path.pop()
    }
  } else {
    const proto = Object.getPrototypeOf(v)
    if (proto !== objectProto && proto !== null) fail('NVENT_NOT_SERIALIZABLE', path, describe(v))
    for (const k in v) {
      if (!Object.prototype.hasOwnProperty.call(v, k)) continue
      path.push(k)
      check(v[k], k, path, seen, depth + 1)
      path.pop()
    }
  }
  seen.pop()
}

// The fast walk: the same rules as `check`, without keeping a path. It answers only
// "fine or not"; when not, `check` walks again to say where and why. Values are almost
// always fine, so this saves the path bookkeeping on every key.
function fine(v, key, seen, depth) {
  switch (typeof v) {
    case 'string':
      return v.isWellFormed()
    case 'number':
      return Number.isFinite(v)
    case 'boolean':
      return true
    case 'object':
      break
    default:
      return false
  }
  if (v === null) return true
  if (typeof v.toJSON === 'function') {
    if (Buffer.isBuffer(v)) return false
    return fine(v.toJSON(typeof key === 'number' ? String(key) : key), key, seen, depth)
  }
  if (depth >= active.maxDepth || seen.includes(v)) return false
  seen.push(v)
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!fine(v[i], i, seen, depth + 1)) return false
  } else {
    const proto = Object.getPrototypeOf(v)
    if (proto !== objectProto && proto !== null) return false
    const keys = Object.keys(v)
    for (let i = 0; i < keys.length; i++) if (!fine(v[keys[i]], keys[i], seen, depth + 1)) return false
  }
  seen.pop()
  return true
}

// The walk of values mode 'json' after JSON.stringify failed: the same steps as
// JSON.stringify (toJSON, then what it cannot write), keeping the path, to say where.
// Depth is bounded here because JSON.stringify's own failure may have been its stack.
function explain(holder, key, path, seen) {
  let v
  try {
    v = holder[key]
  } catch (e) {
    fail('NVENT_NOT_SERIALIZABLE', path, `reading it threw (${describeThrown(e).message})`)
  }
  if ((typeof v === 'object' && v !== null) || typeof v === 'bigint') {
    let toJSON
    try {
      toJSON = v.toJSON
      if (typeof toJSON === 'function') v = toJSON.call(v, key)
    } catch (e) {
      fail('NVENT_NOT_SERIALIZABLE', path, `its toJSON() threw (${describeThrown(e).message})`)
    }
  }
  if (typeof v === 'bigint') fail('NVENT_NOT_SERIALIZABLE', path, describe(v))
  if (typeof v !== 'object' || v === null) return
  if (seen.includes(v)) fail('NVENT_CIRCULAR', path)
  if (seen.length >= active.maxDepth) fail('NVENT_NESTING_TOO_DEEP', path)
  seen.push(v)
  let keys
  try {
    keys = Array.isArray(v) ? null : Object.keys(v)
  } catch (e) {
    fail('NVENT_NOT_SERIALIZABLE', path, `listing its keys threw (${describeThrown(e).message})`)
  }
  if (keys === null) {
    for (let i = 0; i < v.length; i++) {
      path.push(i)
      explain(v, String(i), path, seen)
      path.pop()
    }
  } else {
    for (const k of keys) {
      path.push(k)
      explain(v, k, path, seen)
      path.pop()
    }
  }
  seen.pop()
}

/** JSON.stringify's text of `value` (values mode 'json'), or an NventError with `path`. */
function stringify(value) {
  let text
  try {
    text = JSON.stringify(value)
  } catch (e) {
    explain({ '': value }, '', [], [])
    // The walk found nothing (a getter that threw once only, say): report what it said.
    const { message, error } = describeThrown(e)
    throw new NventError('NVENT_NOT_SERIALIZABLE', `value at $ cannot be stored as JSON: ${message}`, { path: '$', cause: error })
  }
  if (text === undefined) fail('NVENT_NOT_SERIALIZABLE', [], describe(value))
  return text
}

/**
 * Validates `value` and returns its JSON text. Throws NventError with `path`. `lim` are
 * the adapter's limits and values mode (the engine re-checks size in bytes and depth,
 * and checks lone surrogates).
 */
function encode(value, lim = limits) {
  active = lim
  let text
  if (lim.values === 'strict') {
    try {
      if (!fine(value, '', [], 0)) check(value, '', [], [], 0)
      text = JSON.stringify(value)
    } catch (e) {
      if (e instanceof NventError) throw e
      unreadable(value, e)
    }
  } else {
    text = stringify(value)
  }
  if (text.length > lim.maxValueBytes) {
    throw new NventError(
      'NVENT_PAYLOAD_TOO_LARGE',
      `value is ${text.length} characters of JSON, over the limit of ${lim.maxValueBytes} bytes`,
    )
  }
  return text
}

/**
 * A getter, a `toJSON` or a Proxy trap of the value threw `e`: the value cannot be stored
 * (NVENT_NOT_SERIALIZABLE), on every backend and in batched calls alike. `check` walks it
 * again to find where: its path stack still holds the keys leading to the throw.
 */
function unreadable(value, e) {
  const path = []
  try {
    check(value, '', path, [], 0)
  } catch (again) {
    if (again instanceof NventError) throw again
  }
  const { message, error } = describeThrown(e)
  throw new NventError(
    'NVENT_NOT_SERIALIZABLE',
    `value at ${formatPath(path)} cannot be stored as JSON: reading it threw (${message})`,
    { path: formatPath(path), cause: error },
  )
}

const STRICT = { ...limits, values: 'strict' }

/**
 * An adapter's limits and values mode: user limits over the defaults, and `values`
 * (`'json'` unless `'strict'`; anything else is refused).
 */
function limitsOf(opts) {
  const mode = opts && opts.values !== undefined ? opts.values : 'json'
  if (!VALUE_MODES.includes(mode)) {
    throw new NventError('NVENT_INVALID_ARGUMENT', `options.values must be 'json' or 'strict', got ${typeof mode === 'string' ? JSON.stringify(mode) : typeof mode}`)
  }
  const l = opts && opts.limits
  if (!l) return mode === 'strict' ? STRICT : limits
  return {
    maxDepth: l.maxDepth ?? limits.maxDepth,
    maxValueBytes: l.maxValueBytes ?? limits.maxValueBytes,
    values: mode,
  }
}

/** JSON text of adapter options for the engine (undefined when empty). */
function optionsText(opts) {
  if (opts === undefined || opts === null) return undefined
  return encodeRecord(opts, 'adapter options')
}

/**
 * Validates an object whose top-level fields may be `undefined` (treated as absent), as
 * event records allow (SPEC §3.1). Returns JSON text of an object. An own `__proto__`
 * field (what JSON.parse makes of `{"__proto__": …}`) is refused by name: at the top of an
 * event or options object it is a field the engine would have to give a prototype's name.
 */
function encodeRecord(obj, what, lim = limits) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new NventError('NVENT_INVALID_ARGUMENT', `${what} must be a plain object`)
  }
  if (Object.prototype.hasOwnProperty.call(obj, '__proto__')) {
    throw new NventError('NVENT_INVALID_ARGUMENT', `${what} has an own '__proto__' field; rename it (it is reserved, as in field paths)`)
  }
  // JSON.stringify leaves out undefined fields by itself; the strict walk would refuse them.
  if (lim.values !== 'strict') return encode(obj, lim)
  // Null prototype: a copy's field names are only ever its own.
  const clean = Object.create(null)
  try {
    for (const k in obj) {
      if (Object.prototype.hasOwnProperty.call(obj, k) && obj[k] !== undefined) clean[k] = obj[k]
    }
  } catch (e) {
    active = lim
    unreadable(obj, e)
  }
  return encode(clean, lim)
}

const arrayProto = Array.prototype
const NOT_PLAIN = Symbol('not plain')

// A fresh copy of `v` in its JSON form (-0 is 0), or NOT_PLAIN when `v` is not plain data:
// anything `fine` refuses, anything with toJSON, other prototypes, a '__proto__' key.
function plainCopy(v, seen, depth) {
  switch (typeof v) {
    case 'string':
      return v.isWellFormed() ? v : NOT_PLAIN
    case 'number':
      return Number.isFinite(v) ? v + 0 : NOT_PLAIN
    case 'boolean':
      return v
    case 'object':
      break
    default:
      return NOT_PLAIN
  }
  if (v === null) return null
  if (v.toJSON !== undefined || depth >= active.maxDepth || seen.includes(v)) return NOT_PLAIN
  const proto = Object.getPrototypeOf(v)
  let out
  seen.push(v)
  if (proto === arrayProto) {
    out = []
    for (let i = 0; i < v.length; i++) {
      const c = plainCopy(v[i], seen, depth + 1)
      if (c === NOT_PLAIN) return NOT_PLAIN
      out.push(c)
    }
  } else if (proto === objectProto) {
    out = {}
    const keys = Object.keys(v)
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]
      if (k === '__proto__') return NOT_PLAIN
      const c = plainCopy(v[k], seen, depth + 1)
      if (c === NOT_PLAIN) return NOT_PLAIN
      out[k] = c
    }
  } else {
    return NOT_PLAIN
  }
  seen.pop()
  return out
}

/**
 * For an event record of plain data (SPEC §3.1): a fresh copy in its JSON form, without
 * top-level `undefined` fields, whose `JSON.stringify` is the text to store and which
 * equals what parsing that text gives back — except that it starts with the keys `id` and
 * `ts`, left `undefined` (JSON.stringify skips them) for the store to fill in, which makes
 * it the stored record `{ id, ts, ...event }` without another copy. `undefined` when the
 * event is not plain data or has its own `id`/`ts` (the store drops those):
 * `encodeRecord` then decides, and explains a refusal.
 */
function plainRecord(obj, lim = limits) {
  try {
    return plainRecordOf(obj, lim)
  } catch {
    // A getter or Proxy trap threw: encodeRecord explains the refusal.
    return undefined
  }
}

function plainRecordOf(obj, lim) {
  if (obj === null || typeof obj !== 'object' || Object.getPrototypeOf(obj) !== objectProto) return undefined
  if (obj.toJSON !== undefined) return undefined
  active = lim
  const out = { id: undefined, ts: undefined }
  const seen = [obj]
  const keys = Object.keys(obj)
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]
    if (k === 'id' || k === 'ts' || k === '__proto__') return undefined
    const v = obj[k]
    if (v === undefined) continue
    const c = plainCopy(v, seen, 1)
    if (c === NOT_PLAIN) return undefined
    out[k] = c
  }
  return out
}

function decode(text) {
  return JSON.parse(text)
}

/**
 * Checks that `name` is a well-formed string without NUL (the engine checks length and
 * emptiness, and NUL again). NUL is refused here too because batched calls cross to the
 * engine with their names joined by NUL (js/batch.js).
 */
function name(what, value) {
  if (typeof value !== 'string') {
    throw new NventError('NVENT_INVALID_NAME', `invalid ${what}: must be a string, got ${typeof value}`)
  }
  if (!value.isWellFormed()) {
    throw new NventError('NVENT_INVALID_NAME', `invalid ${what}: contains a lone surrogate`)
  }
  if (value.includes('\0')) {
    throw new NventError('NVENT_INVALID_NAME', `invalid ${what}: must not contain NUL`)
  }
  return value
}

/**
 * JSON text of an options object: top-level `undefined` fields count as absent; deeper
 * values follow the adapter's values mode (`lim`).
 */
function encodeOptions(obj, what = 'options', lim = limits) {
  if (obj === undefined || obj === null) return undefined
  return encodeRecord(obj, what, lim)
}

module.exports = { encode, encodeRecord, plainRecord, encodeOptions, decode, name, limits, limitsOf, optionsText, formatPath }
