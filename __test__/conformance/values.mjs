// Conformance suite of the values modes (SPEC §2): the rows where values mode 'json' (the
// default: a value is stored as JSON.stringify writes it) and 'strict' (refusals instead of
// conversions) differ, run once per mode on every backend, through every kind of value:
// kv values, index metadata, event records, documents, job data, handler return values,
// stream messages. It includes the calls of the reference project (nvent 0.5.15) that the
// engine used to refuse: scheduler jobs with `undefined` fields, flow events with
// `undefined` stepName/stepId, a step returning `{ duration: NaN }` or `{ x: undefined }`.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { waitFor, collector } from '../helpers/wait.mjs'
import { unique, rejectsCode, assertExact } from '../helpers/expect.mjs'

class Point {
  constructor() {
    this.x = 1
  }
}

// Each row: a label, a value maker, what 'json' stores (`undefined`: JSON.stringify
// writes nothing, refused), and where 'strict' refuses it (path).
const ROWS = [
  ['undefined in an object', () => ({ a: 1, u: undefined }), { a: 1 }, '$.u'],
  ['a function in an object', () => ({ a: 1, f() {} }), { a: 1 }, '$.f'],
  ['a symbol in an object', () => ({ a: 1, s: Symbol('s') }), { a: 1 }, '$.s'],
  ['undefined, a function and a symbol in an array', () => [undefined, () => {}, Symbol('s')], [null, null, null], '$[0]'],
  ['a sparse array hole', () => [1, , 3], [1, null, 3], '$[1]'], // eslint-disable-line no-sparse-arrays
  ['NaN and ±Infinity', () => ({ n: NaN, p: Infinity, m: -Infinity }), { n: null, p: null, m: null }, '$.n'],
  ['a Map and a Set', () => ({ m: new Map([['a', 1]]), s: new Set([1]) }), { m: {}, s: {} }, '$.m'],
  ['a class instance', () => ({ p: new Point() }), { p: { x: 1 } }, '$.p'],
  ['a Buffer', () => ({ b: Buffer.from('hi') }), { b: { type: 'Buffer', data: [104, 105] } }, '$.b'],
  ['a Uint8Array', () => ({ u: new Uint8Array([1, 2]) }), { u: { 0: 1, 1: 2 } }, '$.u'],
  ['a toJSON result holding undefined', () => ({ t: { toJSON: () => ({ a: undefined, b: 1 }) } }), { t: { b: 1 } }, '$.t.a'],
]

// Refused in both modes (what JSON.stringify cannot write, lone surrogates, circular).
const BOTH = [
  ['a BigInt', () => ({ a: { b: [1, 10n] } }), 'NVENT_NOT_SERIALIZABLE', '$.a.b[1]'],
  ['a lone surrogate', () => ({ a: ['ok', 'x\uD800'] }), 'NVENT_NOT_SERIALIZABLE', '$.a[1]'],
  ['a getter that throws', () => ({ a: { get g() { throw new Error('no') } } }), 'NVENT_NOT_SERIALIZABLE', '$.a.g'],
  ['a toJSON that throws', () => ({ a: { toJSON() { throw Object.create(null) } } }), 'NVENT_NOT_SERIALIZABLE', '$.a'],
  ['a circular reference', () => { const o = { a: {} }; o.a.o = o; return o }, 'NVENT_CIRCULAR', '$.a.o'],
]

// What JSON.stringify cannot write at all, as the whole value: refused in both modes.
const WHOLE = [
  ['undefined', () => undefined],
  ['a function', () => () => {}],
  ['a symbol', () => Symbol('s')],
]

export default function valuesSuite(backend, mode) {
  const strict = mode === 'strict'
  const opts = strict ? { values: 'strict' } : {}
  const withStore = (fn) => async () => {
    const store = backend.store(opts)
    try {
      await fn(store, unique(`values-${backend.name}-${mode}`))
    } finally {
      await store.close()
    }
  }
  const withQueue = (fn) => async () => {
    const queue = backend.queue(opts)
    try {
      await fn(queue, unique(`values-${backend.name}-${mode}`))
    } finally {
      await queue.close()
    }
  }
  const withStream = (fn) => async () => {
    const stream = backend.stream(opts)
    try {
      await fn(stream, unique(`values-${backend.name}-${mode}`))
    } finally {
      await stream.shutdown()
    }
  }
  const refusedAt = (path) => (e) => {
    assert.equal(e.path, path)
    assert.ok(e.message.includes(path), `the message names ${path}: ${e.message}`)
  }

  if (backend.store) {
    describe(`${backend.name}: values mode '${mode}' in the store (§2)`, () => {
      for (const [label, make, stored, path] of ROWS) {
        test(`${label}: ${strict ? `refused at ${path}` : 'stored as JSON.stringify writes it'} (kv, index, event, document)`, withStore(async (store, u) => {
          const calls = [
            ['kv.set', () => store.kv.set(`${u}:k`, make()), async () => store.kv.get(`${u}:k`), stored],
            ['kv.mset', () => store.kv.mset([{ key: `${u}:m`, value: make() }]), async () => (await store.kv.mget([`${u}:m`]))[0], stored],
            ['document', () => store.save(`${u}:d`, 'd', make()), () => store.get(`${u}:d`, 'd'), stored],
            ['event data', () => store.stream.append(`${u}:s`, { type: 't', data: make() }), async () => (await store.stream.read(`${u}:s`))[0]?.data, stored],
          ]
          if (!Array.isArray(stored)) {
            // Index metadata drops null values in objects (SPEC §3.3).
            const dropNulls = (v) => Array.isArray(v) ? v : v && typeof v === 'object'
              ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, dropNulls(x)]))
              : v
            calls.push(['index metadata', () => store.index.add(`${u}:i`, 'e', 1, make()), async () => {
              const { version, ...rest } = (await store.index.get(`${u}:i`, 'e')).metadata
              assert.equal(version, 0)
              return rest
            }, dropNulls(stored)])
          }
          for (const [what, call, read, want] of calls) {
            if (strict) {
              const at = what === 'event data' ? path.replace('$', '$.data') : what === 'kv.mset' ? null : path
              await rejectsCode(call, 'NVENT_NOT_SERIALIZABLE', at ? refusedAt(at) : undefined)
            } else {
              await call()
              assertExact(await read(), want, `${what}: ${label}`)
            }
          }
        }))
      }

      for (const [label, make, code, path] of BOTH) {
        test(`${label} is refused with ${code} at ${path} (kv, index, event, document)`, withStore(async (store, u) => {
          await store.kv.set(u, 'before')
          await rejectsCode(() => store.kv.set(u, make()), code, refusedAt(path))
          assert.equal(await store.kv.get(u), 'before', 'nothing changed')
          await rejectsCode(() => store.index.add(`${u}:i`, 'e', 1, make()), code, refusedAt(path))
          await rejectsCode(() => store.save(`${u}:d`, 'd', make()), code, refusedAt(path))
          await rejectsCode(() => store.stream.append(`${u}:s`, { type: 't', data: make() }), code, refusedAt(path.replace('$', '$.data')))
          assert.equal(await store.stream.count(`${u}:s`), 0)
          assert.equal(await store.index.get(`${u}:i`, 'e'), null)
        }))
      }

      for (const [label, make] of WHOLE) {
        test(`${label} as the whole value is refused at $`, withStore(async (store, u) => {
          await rejectsCode(() => store.kv.set(u, make()), 'NVENT_NOT_SERIALIZABLE', (e) => assert.equal(e.path, '$'))
          assert.equal(await store.kv.exists(u), false)
        }))
      }

      test('a Date is stored as its ISO string', withStore(async (store, u) => {
        await store.kv.set(u, { at: new Date(0) })
        assertExact(await store.kv.get(u), { at: '1970-01-01T00:00:00.000Z' })
      }))

      test('nesting deeper than the limit is refused, with the path of the container', withStore(async (store, u) => {
        let v = []
        const root = v
        for (let i = 0; i < 128; i++) v = v[0] = []
        await rejectsCode(() => store.kv.set(u, root), 'NVENT_NESTING_TOO_DEEP', (e) => assert.equal(e.path, '$' + '[0]'.repeat(128)))
      }))

      // nvent's Scheduler.schedule() writes its jobs with undefined fields.
      test(`nvent: kv.set of a scheduler job with undefined fields ${strict ? 'is refused' : 'is stored without them'}`, withStore(async (store, u) => {
        const job = { id: 'stall:flow', type: 'interval', cron: undefined, interval: 30000, handler: undefined, metadata: { flowName: 'f', runId: undefined } }
        if (strict) return rejectsCode(() => store.kv.set(u, job), 'NVENT_NOT_SERIALIZABLE', refusedAt('$.cron'))
        await store.kv.set(u, job, 60)
        assertExact(await store.kv.get(u), { id: 'stall:flow', type: 'interval', interval: 30000, metadata: { flowName: 'f' } })
      }))

      // nvent's flow events leave stepName/stepId undefined (SPEC §3.1: a top-level
      // undefined field is absent, in both modes).
      test('nvent: a flow event with undefined stepName and stepId is appended without them', withStore(async (store, u) => {
        const rec = await store.stream.append(u, { type: 'flow.start', runId: 'r1', flowName: 'f', stepName: undefined, stepId: undefined, data: { input: 1 } })
        assert.ok(!('stepName' in rec) && !('stepId' in rec))
        const [read] = await store.stream.read(u)
        assert.deepEqual(read, rec)
        assert.deepEqual(read.data, { input: 1 })
      }))
    })
  }

  if (backend.queue) {
    describe(`${backend.name}: values mode '${mode}' in the queue (§2, §5)`, () => {
      test(`job data with undefined and NaN ${strict ? 'is refused' : 'is stored as JSON.stringify writes it'}`, withQueue(async (queue, q) => {
        const data = { a: undefined, n: NaN, list: [undefined], at: new Date(0) }
        if (strict) return rejectsCode(() => queue.enqueue(q, { name: 'job', data }), 'NVENT_NOT_SERIALIZABLE', refusedAt('$.a'))
        const id = await queue.enqueue(q, { name: 'job', data })
        assertExact((await queue.getJob(q, id)).data, { n: null, list: [null], at: '1970-01-01T00:00:00.000Z' })
        const [bulk] = await queue.enqueueBulk(q, [{ name: 'job', data }])
        assertExact((await queue.getJob(q, bulk)).data, { n: null, list: [null], at: '1970-01-01T00:00:00.000Z' })
      }))

      test('a BigInt in job data is refused in both modes, with its path', withQueue(async (queue, q) => {
        await rejectsCode(() => queue.enqueue(q, { name: 'job', data: { big: 1n } }), 'NVENT_NOT_SERIALIZABLE', refusedAt('$.big'))
        assert.deepEqual(await queue.getJobs(q), [])
      }))

      // nvent steps return objects like these (a duration that was never measured).
      for (const [label, value, stored] of [
        ['{ duration: NaN }', { duration: NaN }, { duration: null }],
        ['{ x: undefined }', { x: undefined, ok: true }, { ok: true }],
      ]) {
        test(`nvent: a handler returning ${label} ${strict ? 'fails its attempt' : 'completes with it as JSON.stringify writes it'}`, withQueue(async (queue, q) => {
          await queue.registerWorker(q, 'step', async () => value)
          const id = await queue.enqueue(q, { name: 'step', data: {} })
          const state = strict ? 'failed' : 'completed'
          await waitFor(async () => (await queue.getJob(q, id))?.state === state, { timeoutMs: 30000, what: `job ${id} ${state}` })
          const job = await queue.getJob(q, id)
          if (strict) assert.match(job.failedReason, /return value/)
          else assertExact(job.returnvalue, stored)
        }))
      }
    })
  }

  if (backend.stream) {
    describe(`${backend.name}: values mode '${mode}' in the stream (§2, §4)`, () => {
      test(`a message with undefined and NaN inside ${strict ? 'is refused' : 'arrives as JSON.stringify writes it'}`, withStream(async (stream, u) => {
        const got = collector()
        await stream.subscribe(u, got.push)
        const msg = { type: 't', data: { a: undefined, n: NaN }, metadata: undefined, timestamp: 5 }
        if (strict) return rejectsCode(() => stream.publish(u, msg), 'NVENT_NOT_SERIALIZABLE', refusedAt('$.data.a'))
        await stream.publish(u, msg)
        const [m] = await got.until(1, { timeoutMs: 10000 })
        assertExact(m, { type: 't', data: { n: null }, timestamp: 5 })
      }))

      test('a message with a BigInt is refused in both modes', withStream(async (stream, u) => {
        await rejectsCode(() => stream.publish(u, { type: 't', data: { b: 2n } }), 'NVENT_NOT_SERIALIZABLE', refusedAt('$.data.b'))
      }))
    })
  }
}
