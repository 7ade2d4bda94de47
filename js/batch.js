'use strict'
// Appends of one JS turn in one native call (file store). Each append is validated and
// encoded at once; the batch goes to the engine at the end of the turn, or before any other
// native call made meanwhile (settle.js), so the engine sees calls in the order they were
// made. One call, one journal submission and one settlement for the whole batch instead of
// one each (docs/FILE-FORMAT.md, "Performance"). The engine answers each append with its
// id or its error (a refused one rejects alone and changes nothing); the record is the
// plain copy whose text was stored, with `id` and `ts` filled in front (codec.plainRecord).

const native = require('./native')
const { beforeNextCall, ticket, isTicket } = require('./settle')
const { NventError, fromNative } = require('./errors')

let handle = null
let subjects = []
let mixed = false
let texts = []
let waiters = []
let tick = false
// A batch goes out once it holds this many appends, turn over or not: the engine then
// writes it while this thread gathers the next, instead of idling through one big batch's
// round trip (measured with 64 appends in flight: 32 per batch ~8% faster than one batch
// per turn; 16 slower, the per-call costs show).
const BATCH_MAX = 32

/** Queues an append of `plain` (see codec.plainRecord), whose JSON is `text`, to `subject`. */
function append(h, subject, text, plain) {
  if (handle !== h) {
    if (handle !== null) send()
    handle = h
    beforeNextCall(send)
  }
  if (!tick) {
    tick = true
    queueMicrotask(endOfTurn)
  }
  if (subjects.length > 0 && subject !== subjects[0]) mixed = true
  subjects.push(subject)
  texts.push(text)
  const p = new Promise((resolve, reject) => waiters.push(resolve, reject, plain))
  if (texts.length >= BATCH_MAX) send()
  return p
}

function endOfTurn() {
  tick = false
  if (handle !== null) send()
}

function send() {
  const h = handle
  const w = waiters
  const s = mixed ? subjects.join('\0') : subjects[0]
  const t = texts.join('\n')
  handle = null
  subjects = []
  mixed = false
  texts = []
  waiters = []
  beforeNextCall(null)
  let r
  try {
    r = native.storeStreamAppendMany(h, s, t)
  } catch (e) {
    failAll(w, fromNative(e))
    return
  }
  if (isTicket(r)) ticket(r.nventTicket).then((results) => settleAll(w, results), (e) => failAll(w, e))
  else settleAll(w, JSON.parse(r))
}

// `results`: per append `ms, seq` of its id, or `[code, path, message]`.
function settleAll(w, results) {
  let j = 0
  for (let i = 0; i < w.length; i += 3) {
    const x = results[j]
    if (typeof x === 'number') {
      const record = w[i + 2]
      record.id = x + '-' + results[j + 1]
      record.ts = x
      j += 2
      w[i](record)
    } else {
      j += 1
      w[i + 1](new NventError(x[0], x[2], x[1] ? { path: x[1] } : {}))
    }
  }
}

function failAll(w, e) {
  for (let i = 1; i < w.length; i += 3) w[i](e)
}

module.exports = { append }
