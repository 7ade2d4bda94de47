// Assertions shared by the behavioural suites: error codes on sync throws and async rejections
// (STYLE: prove both), unique names (a shared Redis server later), gates for blocking handlers.
import assert from 'node:assert/strict'
import { NventError } from '../../index.mjs'

let counter = 0
const run = `${process.pid.toString(36)}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`

/** A name no other test (or earlier run on a shared server) uses: `prefix-<run>-<n>`. */
export function unique(prefix = 't') {
  counter += 1
  return `${prefix}-${run}-${counter}`
}

function checkError(e, code, check) {
  assert.ok(e instanceof NventError, `expected an NventError with code ${code}, got ${e && e.stack ? e.stack : e}`)
  assert.ok(e instanceof Error, 'an NventError is an Error')
  assert.equal(e.code, code, `error code (message: ${e.message})`)
  assert.equal(typeof e.message, 'string')
  assert.ok(e.message.length > 0, 'the message says what to fix')
  if (check) check(e)
  return true
}

/**
 * `thunk` must return a Promise (not throw synchronously) that rejects with an NventError of
 * `code`. `thunk` may also be a Promise already.
 */
export async function rejectsCode(thunk, code, check) {
  let p = thunk
  if (typeof thunk === 'function') {
    try {
      p = thunk()
    } catch (e) {
      assert.fail(`threw synchronously (${e && e.code}: ${e && e.message}) instead of returning a rejected Promise`)
    }
  }
  assert.ok(p !== null && typeof p === 'object' && typeof p.then === 'function', 'returns a Promise')
  await assert.rejects(p, (e) => checkError(e, code, check))
}

/** `fn()` must throw an NventError of `code` synchronously. */
export function throwsCode(fn, code, check) {
  assert.throws(fn, (e) => checkError(e, code, check))
}

/** `fn()` fails with an NventError of `code`, by a sync throw or by a rejected Promise. */
export async function failsCode(fn, code, check) {
  let r
  try {
    r = fn()
  } catch (e) {
    checkError(e, code, check)
    return
  }
  assert.ok(r !== null && typeof r === 'object' && typeof r.then === 'function', `expected a failure with ${code}, got ${r}`)
  await assert.rejects(r, (e) => checkError(e, code, check))
}

/** A Promise that the test resolves when it wants a blocked handler to finish. */
export function gate() {
  let open
  const promise = new Promise((r) => {
    open = r
  })
  return { promise, open: (v) => open(v) }
}

/** For "this must NOT happen" checks only: give the engine a moment to misbehave. */
export function settle(ms = 150) {
  return new Promise((r) => setTimeout(r, ms))
}

/** JSON text equality: exact types and key order. */
export function assertExact(actual, expected, what = 'value') {
  assert.equal(JSON.stringify(actual), JSON.stringify(expected), `${what} round-trips exactly (types and key order)`)
  assert.deepEqual(actual, expected, what)
}

/**
 * Values that must round-trip exactly (SPEC §2). Each entry: [label, value]. Keys avoid
 * integer-like names, whose order JS objects do not keep.
 */
export const ROUND_TRIP_VALUES = [
  ['string of digits', '123'],
  ['zero', 0],
  ['false', false],
  ['true', true],
  ['empty string', ''],
  ['null', null],
  ['negative integer', -42],
  ['fraction 0.1', 0.1],
  ['0.1 + 0.2', 0.1 + 0.2],
  ['1.0000000000000002', 1.0000000000000002],
  ['many fractional digits', 123456.78901234567],
  ['tiny number', 5e-324],
  ['large number', 1.7976931348623157e308],
  ['max safe integer', Number.MAX_SAFE_INTEGER],
  ['negative fraction', -0.000123],
  ['unicode string', 'héllo ✓ 😀 ｡ \u0000 "quoted" \\ \n\t'],
  ['long string', 'x'.repeat(100000)],
  ['empty object', {}],
  ['empty array', []],
  ['array of mixed', [1, '1', true, null, 0, '', false, [], {}, 1.5]],
  ['object keeping key order', { zeta: 1, alpha: 2, mid: { y: 1, b: 2, a: 3 }, beta: '3' }],
  ['nested', { a: { b: { c: [1, { d: ['e', { f: null }] }] } }, s: '0', z: 0, f: false, e: '' }],
]

/** A value nesting `n` containers: [[[...0]]]. */
export function nested(n, kind = 'array') {
  let v = 0
  for (let i = 0; i < n; i++) v = kind === 'array' ? [v] : { k: v }
  return v
}
