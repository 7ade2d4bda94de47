// Conformance suite of the store adapter (SPEC §2 as seen through the store, §3.1–§3.5).
// Every test makes a fresh adapter, uses names no other test uses (a shared Redis server
// later) and closes the adapter. Time-dependent checks poll with generous bounds.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { NventError } from '../../index.mjs'
import { waitFor, collector } from '../helpers/wait.mjs'
import {
  unique,
  rejectsCode,
  failsCode,
  settle,
  assertExact,
  ROUND_TRIP_VALUES,
  nested,
} from '../helpers/expect.mjs'

const MiB = 1024 * 1024
const storeChild = fileURLToPath(new URL('../fixtures/store-child.mjs', import.meta.url))

/** A dotted field path of `n` segments `a`. */
const segments = (n) => Array.from({ length: n }, () => 'a').join('.')

/** `leaf` under `n` levels of `{ a: ... }`. */
function under(n, leaf) {
  let v = leaf
  for (let i = 0; i < n; i++) v = { a: v }
  return v
}

class Point {
  constructor() {
    this.x = 1
  }
}

class Money {
  toJSON() {
    return { amount: 5, currency: 'EUR' }
  }
}

// Values JSON cannot carry exactly (SPEC §2), each refused with NVENT_NOT_SERIALIZABLE.
const OFFENDERS = [
  ['a function', () => () => {}],
  ['a symbol', () => Symbol('s')],
  ['undefined', () => undefined],
  ['a BigInt', () => 10n],
  ['NaN', () => NaN],
  ['Infinity', () => Infinity],
  ['-Infinity', () => -Infinity],
  ['a Map', () => new Map([['a', 1]])],
  ['a Set', () => new Set([1])],
  ['a class instance without toJSON', () => new Point()],
  ['a Buffer (although it has toJSON)', () => Buffer.from('hi')],
  ['a Uint8Array', () => new Uint8Array([1, 2])],
  ['a Float64Array', () => new Float64Array([1.5])],
]

const INVALID_NAMES = [
  ['the empty string', ''],
  ['a name with NUL', 'a\u0000b'],
  ['1025 ASCII bytes', 'x'.repeat(1025)],
  ['1026 bytes of two-byte characters', 'é'.repeat(513)],
  ['a lone high surrogate', 'a\uD800b'],
  ['a lone low surrogate', '\uDC00'],
]

function idParts(id) {
  const m = /^(\d+)-(\d+)$/.exec(id)
  assert.ok(m, `id ${id} has the <ms>-<seq> form`)
  return [Number(m[1]), Number(m[2])]
}

function idLess(a, b) {
  const [am, as] = idParts(a)
  const [bm, bs] = idParts(b)
  return am < bm || (am === bm && as < bs)
}

function assertIncreasing(ids) {
  for (let i = 1; i < ids.length; i++) {
    assert.ok(idLess(ids[i - 1], ids[i]), `id ${ids[i]} follows ${ids[i - 1]}`)
  }
}

/** `prefix` padded with `ch` to exactly `bytes` UTF-8 bytes. */
function padTo(prefix, bytes, ch) {
  let s = prefix
  while (Buffer.byteLength(s) + Buffer.byteLength(ch) <= bytes) s += ch
  while (Buffer.byteLength(s) < bytes) s += 'x'
  assert.equal(Buffer.byteLength(s), bytes)
  return s
}

function assertNotPolluted() {
  assert.equal({}.polluted, undefined, 'Object.prototype is not polluted')
  assert.equal(Object.prototype.polluted, undefined, 'Object.prototype is not polluted')
  assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false)
}

/** Waits until `ms` milliseconds passed since `t0`. Only to separate timestamps. */
async function untilAfter(t0, ms = 2) {
  await waitFor(() => Date.now() > t0 + ms, { what: 'the clock to advance' })
}

// The mode whose refusals the tests marked STRICT assert (SPEC §2; json mode converts).
const STRICT = { values: 'strict' }

export default function storeSuite(backend) {
  const withStore = (fn, opts) => async () => {
    const store = backend.store(opts)
    try {
      await fn(store, unique(`store-${backend.name}`))
    } finally {
      await store.close()
    }
  }

  // ---------------------------------------------------------------------------------------
  describe(`${backend.name}: store values (§2)`, () => {
    for (const [label, value] of ROUND_TRIP_VALUES) {
      test(`kv round-trips ${label} exactly`, withStore(async (store, u) => {
        await store.kv.set(u, value)
        assertExact(await store.kv.get(u), value, label)
      }))
    }

    test('kv keeps the string "123" a string and 0, false and "" distinct from null', withStore(async (store, u) => {
      await store.kv.set(`${u}:s`, '123')
      await store.kv.set(`${u}:z`, 0)
      await store.kv.set(`${u}:f`, false)
      await store.kv.set(`${u}:e`, '')
      assert.equal(await store.kv.get(`${u}:s`), '123')
      assert.equal(typeof (await store.kv.get(`${u}:s`)), 'string')
      assert.equal(await store.kv.get(`${u}:z`), 0)
      assert.equal(await store.kv.get(`${u}:f`), false)
      assert.equal(await store.kv.get(`${u}:e`), '')
    }))

    test('every value of the table round-trips inside one object', withStore(async (store, u) => {
      const value = {}
      ROUND_TRIP_VALUES.forEach(([, v], i) => {
        value[`k${i}`] = v
      })
      await store.kv.set(u, value)
      assertExact(await store.kv.get(u), value)
    }))

    test('stream event data round-trips exactly', withStore(async (store, u) => {
      const data = Object.fromEntries(ROUND_TRIP_VALUES.map(([, v], i) => [`k${i}`, v]))
      const rec = await store.stream.append(u, { type: 'values', data })
      assertExact(rec.data, data, 'appended record data')
      const [read] = await store.stream.read(u)
      assertExact(read.data, data, 'read record data')
    }))

    test('documents round-trip exactly', withStore(async (store, u) => {
      const doc = Object.fromEntries(ROUND_TRIP_VALUES.map(([, v], i) => [`k${i}`, v]))
      await store.save(u, 'doc', doc)
      assertExact(await store.get(u, 'doc'), doc)
    }))

    test('index metadata keeps types, fractional digits and key order', withStore(async (store, u) => {
      const meta = { zeta: '123', alpha: 0, mid: false, empty: '', frac: 0.1 + 0.2, big: 123456.78901234567, arr: [1, '1', null] }
      await store.index.add(u, 'e', 1, meta)
      const got = await store.index.get(u, 'e')
      assert.deepEqual(got.metadata, { ...meta, version: 0 })
      assert.deepEqual(
        Object.keys(got.metadata).filter((k) => k !== 'version'),
        Object.keys(meta),
        'key order of the metadata is kept',
      )
    }))

    test('a Date is stored as its toJSON() result', withStore(async (store, u) => {
      await store.kv.set(u, { when: new Date(0), list: [new Date(86400000)] })
      assertExact(await store.kv.get(u), { when: '1970-01-01T00:00:00.000Z', list: ['1970-01-02T00:00:00.000Z'] })
    }))

    test('a top-level Date is stored as its ISO string', withStore(async (store, u) => {
      await store.kv.set(u, new Date(1000))
      assert.equal(await store.kv.get(u), '1970-01-01T00:00:01.000Z')
    }))

    test('an object with toJSON is stored as what toJSON returns', withStore(async (store, u) => {
      await store.kv.set(u, { price: new Money(), plain: { toJSON: () => 'replaced' } })
      assertExact(await store.kv.get(u), { price: { amount: 5, currency: 'EUR' }, plain: 'replaced' })
    }))

    // Batched calls (file: appends; Redis: kv.get/set and appends, js/batch.js) refuse like
    // the single calls of memory: an NventError, never the caller's raw throw (issue 14 #14).
    for (const [label, make] of [
      ['a toJSON that throws an Error', () => ({ a: { toJSON: () => { throw new Error('boom') } } })],
      ['a toJSON that throws an object without a prototype', () => ({ a: { toJSON: () => { throw Object.create(null) } } })],
      ['a getter that throws', () => ({ get a() { throw new Error('getter') } })],
      ['a Proxy whose traps throw', () => ({ a: new Proxy({}, { ownKeys: () => { throw 1 }, get: () => { throw 2 }, getPrototypeOf: () => { throw 3 } }) })],
    ]) {
      test(`a value with ${label} is refused with NVENT_NOT_SERIALIZABLE by kv.set and stream.append`, withStore(async (store, u) => {
        const path = (e) => assert.equal(e.path, '$.a')
        await rejectsCode(() => store.kv.set(u, make()), 'NVENT_NOT_SERIALIZABLE', path)
        await rejectsCode(() => store.stream.append(u, { type: 't', data: make() }), 'NVENT_NOT_SERIALIZABLE', (e) =>
          assert.equal(e.path, '$.data.a'),
        )
        // The same calls in one turn (one batch where the backend batches).
        const both = [store.kv.set(u, make()), store.stream.append(u, { type: 't', data: make() }), store.kv.set(`${u}:ok`, 1)]
        await rejectsCode(both[0], 'NVENT_NOT_SERIALIZABLE')
        await rejectsCode(both[1], 'NVENT_NOT_SERIALIZABLE')
        await both[2]
        assert.equal(await store.kv.get(u), null)
        assert.equal(await store.stream.count(u), 0)
        assert.equal(await store.kv.get(`${u}:ok`), 1)
      }))
    }

    test('a toJSON result that is not serializable is refused (values: strict)', withStore(async (store, u) => {
      await rejectsCode(() => store.kv.set(u, { a: { toJSON: () => () => {} } }), 'NVENT_NOT_SERIALIZABLE')
      assert.equal(await store.kv.get(u), null)
    }, STRICT))

    for (const [label, make] of OFFENDERS) {
      test(`${label} inside an array is refused with its path $.a.b[2] (values: 'strict')`, withStore(async (store, u) => {
        await store.kv.set(u, 'before')
        await rejectsCode(() => store.kv.set(u, { a: { b: [1, 2, make()] } }), 'NVENT_NOT_SERIALIZABLE', (e) => {
          assert.equal(e.path, '$.a.b[2]')
          assert.ok(e.message.includes('$.a.b[2]'), `message names the path: ${e.message}`)
        })
        assert.equal(await store.kv.get(u), 'before', 'the rejected set left the value unchanged')
      }, STRICT))

      test(`${label} inside an object is refused with its path $.a.b.c (values: 'strict')`, withStore(async (store, u) => {
        await rejectsCode(() => store.kv.set(u, { a: { b: { ok: 1, c: make() } } }), 'NVENT_NOT_SERIALIZABLE', (e) => {
          assert.equal(e.path, '$.a.b.c')
          assert.ok(e.message.includes('$.a.b.c'), `message names the path: ${e.message}`)
        })
        assert.equal(await store.kv.get(u), null, 'nothing was stored')
        assert.equal(await store.kv.exists(u), false)
      }, STRICT))

      test(`${label} as the whole value is refused with path $ (values: 'strict')`, withStore(async (store, u) => {
        await rejectsCode(() => store.kv.set(u, make()), 'NVENT_NOT_SERIALIZABLE', (e) => {
          assert.equal(e.path, '$')
        })
        assert.equal(await store.kv.exists(u), false)
      }, STRICT))
    }

    test('undefined as an array element is refused with its path (values: strict)', withStore(async (store, u) => {
      await rejectsCode(() => store.kv.set(u, [1, undefined, 3]), 'NVENT_NOT_SERIALIZABLE', (e) => {
        assert.equal(e.path, '$[1]')
        assert.ok(e.message.includes('$[1]'))
      })
    }, STRICT))

    test('a sparse array hole is refused like undefined (values: strict)', withStore(async (store, u) => {
      // eslint-disable-next-line no-sparse-arrays
      await rejectsCode(() => store.kv.set(u, { a: [1, , 3] }), 'NVENT_NOT_SERIALIZABLE', (e) => {
        assert.equal(e.path, '$.a[1]')
      })
    }, STRICT))

    test('a circular object gives NVENT_CIRCULAR with the path of the back reference', withStore(async (store, u) => {
      const o = { a: { b: [] } }
      o.a.b.push(o)
      await store.kv.set(u, 'before')
      await rejectsCode(() => store.kv.set(u, o), 'NVENT_CIRCULAR', (e) => {
        assert.equal(e.path, '$.a.b[0]')
        assert.ok(e.message.includes('$.a.b[0]'))
      })
      assert.equal(await store.kv.get(u), 'before')
    }))

    test('a circular array gives NVENT_CIRCULAR', withStore(async (store, u) => {
      const a = [1]
      a.push(a)
      await rejectsCode(() => store.kv.set(u, a), 'NVENT_CIRCULAR', (e) => assert.equal(e.path, '$[1]'))
    }))

    test('a circular event, index metadata and document give NVENT_CIRCULAR', withStore(async (store, u) => {
      const o = { x: {} }
      o.x.o = o
      await rejectsCode(() => store.stream.append(`${u}:s`, { type: 't', data: o }), 'NVENT_CIRCULAR')
      await rejectsCode(() => store.index.add(`${u}:i`, 'e', 1, o), 'NVENT_CIRCULAR')
      await rejectsCode(() => store.save(`${u}:d`, 'd', o), 'NVENT_CIRCULAR')
      assert.equal(await store.stream.count(`${u}:s`), 0)
      assert.equal(await store.index.get(`${u}:i`, 'e'), null)
      assert.equal(await store.get(`${u}:d`, 'd'), null)
    }))

    test('the same object referenced twice (not circular) is accepted', withStore(async (store, u) => {
      const shared = { n: 1 }
      await store.kv.set(u, { x: shared, y: shared, list: [shared, shared] })
      assertExact(await store.kv.get(u), { x: { n: 1 }, y: { n: 1 }, list: [{ n: 1 }, { n: 1 }] })
    }))

    test('nesting depth 128 arrays is accepted and round-trips', withStore(async (store, u) => {
      await store.kv.set(u, nested(128))
      assertExact(await store.kv.get(u), nested(128))
    }))

    test('nesting depth 129 arrays is refused with NVENT_NESTING_TOO_DEEP', withStore(async (store, u) => {
      await rejectsCode(() => store.kv.set(u, nested(129)), 'NVENT_NESTING_TOO_DEEP')
      assert.equal(await store.kv.exists(u), false)
    }))

    test('nesting depth 128 objects is accepted and round-trips', withStore(async (store, u) => {
      await store.kv.set(u, nested(128, 'object'))
      assertExact(await store.kv.get(u), nested(128, 'object'))
    }))

    test('nesting depth 129 objects is refused with NVENT_NESTING_TOO_DEEP', withStore(async (store, u) => {
      await rejectsCode(() => store.kv.set(u, nested(129, 'object')), 'NVENT_NESTING_TOO_DEEP')
    }))

    test('an event nesting 129 containers (event object included) is refused', withStore(async (store, u) => {
      await store.stream.append(u, { type: 't', data: nested(127) })
      await rejectsCode(() => store.stream.append(u, { type: 't', data: nested(128) }), 'NVENT_NESTING_TOO_DEEP')
      assert.equal(await store.stream.count(u), 1)
    }))

    test('a value of 1 MiB is accepted', withStore(async (store, u) => {
      const big = 'y'.repeat(MiB)
      await store.kv.set(u, { big })
      assert.equal((await store.kv.get(u)).big.length, MiB)
    }))

    test('a value just under 16 MiB of JSON is accepted', withStore(async (store, u) => {
      const s = 'z'.repeat(16 * MiB - 16)
      await store.kv.set(u, s)
      assert.equal((await store.kv.get(u)).length, s.length)
    }))

    test('a value over 16 MiB of JSON is refused with NVENT_PAYLOAD_TOO_LARGE', withStore(async (store, u) => {
      await store.kv.set(u, 'before')
      await rejectsCode(() => store.kv.set(u, 'x'.repeat(16 * MiB)), 'NVENT_PAYLOAD_TOO_LARGE')
      assert.equal(await store.kv.get(u), 'before')
    }))

    test('the 16 MiB limit counts UTF-8 bytes, not characters', withStore(async (store, u) => {
      // 6 Mi characters of 3 bytes each: 18 MiB of JSON.
      await rejectsCode(() => store.kv.set(u, '€'.repeat(6 * MiB)), 'NVENT_PAYLOAD_TOO_LARGE')
      assert.equal(await store.kv.exists(u), false)
    }))

    test('an oversized event is refused and not appended', withStore(async (store, u) => {
      await rejectsCode(() => store.stream.append(u, { type: 't', data: 'x'.repeat(16 * MiB) }), 'NVENT_PAYLOAD_TOO_LARGE')
      assert.equal(await store.stream.count(u), 0)
    }))

    test('a non-serializable event field is refused with its path and nothing is appended (values: strict)', withStore(async (store, u) => {
      await rejectsCode(() => store.stream.append(u, { type: 't', data: { a: [() => {}] } }), 'NVENT_NOT_SERIALIZABLE', (e) => {
        assert.equal(e.path, '$.data.a[0]')
      })
      assert.equal(await store.stream.count(u), 0)
    }, STRICT))

    test('non-serializable index metadata is refused and the old entry stays', withStore(async (store, u) => {
      await store.index.add(u, 'e', 1, { a: 1 })
      await rejectsCode(() => store.index.add(u, 'e', 2, { a: { b: 10n } }), 'NVENT_NOT_SERIALIZABLE', (e) => {
        assert.equal(e.path, '$.a.b')
      })
      assert.deepEqual(await store.index.get(u, 'e'), { id: 'e', score: 1, metadata: { a: 1, version: 0 } })
    }))

    test('a non-serializable update partial is refused and the entry (and its version) stay (values: strict)', withStore(async (store, u) => {
      await store.index.add(u, 'e', 1, { a: 1 })
      await rejectsCode(() => store.index.update(u, 'e', { a: 2, b: new Map() }), 'NVENT_NOT_SERIALIZABLE', (e) => {
        assert.equal(e.path, '$.b')
      })
      assert.deepEqual((await store.index.get(u, 'e')).metadata, { a: 1, version: 0 })
    }, STRICT))

    test('a non-serializable document is refused and the old document stays (values: strict)', withStore(async (store, u) => {
      await store.save(u, 'd', { v: 1 })
      await rejectsCode(() => store.save(u, 'd', { v: 2, f: Symbol('x') }), 'NVENT_NOT_SERIALIZABLE', (e) => {
        assert.equal(e.path, '$.f')
      })
      assertExact(await store.get(u, 'd'), { v: 1 })
    }, STRICT))

    test('mset with one non-serializable value sets nothing (values: strict)', withStore(async (store, u) => {
      await store.kv.set(`${u}:a`, 'old')
      await rejectsCode(
        () => store.kv.mset([{ key: `${u}:a`, value: 'new' }, { key: `${u}:b`, value: { bad: NaN } }]),
        'NVENT_NOT_SERIALIZABLE',
      )
      assert.deepEqual(await store.kv.mget([`${u}:a`, `${u}:b`]), ['old', null])
    }, STRICT))

    test('a JSON "__proto__" key never pollutes Object.prototype', withStore(async (store, u) => {
      const value = JSON.parse('{"__proto__": {"polluted": "yes"}, "a": 1}')
      try {
        await store.kv.set(u, value)
        const got = await store.kv.get(u)
        assert.equal(got.a, 1)
      } catch (e) {
        assert.ok(e instanceof NventError, 'refusing it is fine, as an NventError')
      }
      assertNotPolluted()
    }))
  })

  // ---------------------------------------------------------------------------------------
  describe(`${backend.name}: store names (§2)`, () => {
    const calls = [
      ['kv.get', (s, n) => s.kv.get(n)],
      ['kv.set', (s, n) => s.kv.set(n, 1)],
      ['kv.delete', (s, n) => s.kv.delete(n)],
      ['kv.increment', (s, n) => s.kv.increment(n)],
      ['kv.decrement', (s, n) => s.kv.decrement(n)],
      ['kv.exists', (s, n) => s.kv.exists(n)],
      ['kv.expire', (s, n) => s.kv.expire(n, 10)],
      ['kv.touch', (s, n) => s.kv.touch(n, 10)],
      ['kv.ttl', (s, n) => s.kv.ttl(n)],
      ['kv.mget', (s, n) => s.kv.mget(['fine', n])],
      ['kv.mset', (s, n) => s.kv.mset([{ key: n, value: 1 }])],
      ['stream.append subject', (s, n) => s.stream.append(n, { type: 't' })],
      ['stream.read subject', (s, n) => s.stream.read(n)],
      ['stream.subscribe subject', (s, n) => s.stream.subscribe(n, () => {})],
      ['stream.delete subject', (s, n) => s.stream.delete(n)],
      ['stream.count subject', (s, n) => s.stream.count(n)],
      ['append subject', (s, n) => s.append(n, { type: 't' })],
      ['index.add key', (s, n) => s.index.add(n, 'id', 1)],
      ['index.add id', (s, n) => s.index.add('k', n, 1)],
      ['index.get id', (s, n) => s.index.get('k', n)],
      ['index.read key', (s, n) => s.index.read(n)],
      ['index.count key', (s, n) => s.index.count(n)],
      ['index.update id', (s, n) => s.index.update('k', n, { a: 1 })],
      ['index.updateWithRetry id', (s, n) => s.index.updateWithRetry('k', n, { a: 1 })],
      ['index.increment id', (s, n) => s.index.increment('k', n, 'f')],
      ['index.delete id', (s, n) => s.index.delete('k', n)],
      ['save collection', (s, n) => s.save(n, 'id', {})],
      ['save id', (s, n) => s.save('c', n, {})],
      ['get id', (s, n) => s.get('c', n)],
      ['list collection', (s, n) => s.list(n)],
      ['delete id', (s, n) => s.delete('c', n)],
      ['claim.once key', (s, n) => s.claim.once(n, 'owner', 10)],
      ['claim.release key', (s, n) => s.claim.release(n, 'owner')],
      ['claim.extend key', (s, n) => s.claim.extend(n, 'owner', 10)],
    ]
    for (const [label, name] of INVALID_NAMES) {
      test(`${label} is refused with NVENT_INVALID_NAME by every store method`, withStore(async (store) => {
        for (const [what, call] of calls) {
          await rejectsCode(() => call(store, name), 'NVENT_INVALID_NAME', () => {}).catch((e) => {
            e.message = `${what}: ${e.message}`
            throw e
          })
        }
      }))
    }

    test('kv.get("") returns a rejected Promise rather than throwing synchronously', withStore(async (store) => {
      let p
      assert.doesNotThrow(() => {
        p = store.kv.get('')
      })
      assert.ok(p instanceof Promise || typeof p.then === 'function')
      await assert.rejects(p, (e) => e instanceof NventError && e.code === 'NVENT_INVALID_NAME')
    }))

    test('a name of exactly 1024 ASCII bytes is accepted', withStore(async (store, u) => {
      const name = padTo(u, 1024, 'x')
      await store.kv.set(name, 'ok')
      assert.equal(await store.kv.get(name), 'ok')
    }))

    test('a name of exactly 1024 bytes of multi-byte characters is accepted', withStore(async (store, u) => {
      const two = padTo(`${u}:`, 1024, 'é')
      const four = padTo(`${u};`, 1024, '😀')
      await store.kv.set(two, 2)
      await store.kv.set(four, 4)
      assert.equal(await store.kv.get(two), 2)
      assert.equal(await store.kv.get(four), 4)
    }))

    test('unusual but valid names are distinct keys (case, normalization, separators)', withStore(async (store, u) => {
      const names = ['.', '..', '/', 'a/b', 'a\\b', '../up', 'A', 'a', 'con', 'CON', 'á', 'a\u0301', ' ', 'x y', 'ключ', '😀', 'a:b', 'a*b?[c]', '%2F', '~', 'x'.repeat(300)]
      for (const [i, n] of names.entries()) await store.kv.set(`${u}|${n}`, i)
      for (const [i, n] of names.entries()) assert.equal(await store.kv.get(`${u}|${n}`), i, `key ${JSON.stringify(n)}`)
    }))

    test('an index id and subject may contain any valid characters', withStore(async (store, u) => {
      const ids = ['a/b', '..', 'x:y', 'é', '😀', 'with space']
      for (const id of ids) await store.index.add(`${u}:i`, id, 1, { id })
      for (const id of ids) assert.equal((await store.index.get(`${u}:i`, id)).metadata.id, id)
      const rec = await store.stream.append(`${u}:s/../😀`, { type: 't' })
      assert.deepEqual(await store.stream.read(`${u}:s/../😀`), [rec])
    }))
  })

  // ---------------------------------------------------------------------------------------
  describe(`${backend.name}: store field paths (§2)`, () => {
    const badPartials = [
      ['an own "__proto__" key', () => JSON.parse('{"__proto__": {"polluted": "yes"}}')],
      ['a nested own "__proto__" key', () => JSON.parse('{"a": {"__proto__": {"polluted": "yes"}}}')],
      ['a "__proto__.polluted" dot key', () => ({ '__proto__.polluted': 'yes' })],
      ['an "a.__proto__.polluted" dot key', () => ({ 'a.__proto__.polluted': 'yes' })],
      ['a "constructor" key', () => ({ constructor: { prototype: { polluted: 'yes' } } })],
      ['a "constructor.prototype.polluted" dot key', () => ({ 'constructor.prototype.polluted': 'yes' })],
      ['a "prototype" key', () => ({ prototype: { polluted: 'yes' } })],
      ['an "a.prototype" dot key', () => ({ 'a.prototype': 'yes' })],
    ]
    for (const [label, make] of badPartials) {
      test(`update refuses ${label} with NVENT_INVALID_NAME and changes nothing`, withStore(async (store, u) => {
        await store.index.add(u, 'e', 1, { a: { b: 1 } })
        await rejectsCode(() => store.index.update(u, 'e', make()), 'NVENT_INVALID_NAME')
        assert.deepEqual((await store.index.get(u, 'e')).metadata, { a: { b: 1 }, version: 0 })
        assertNotPolluted()
      }))

      test(`updateWithRetry refuses ${label} with NVENT_INVALID_NAME`, withStore(async (store, u) => {
        await store.index.add(u, 'e', 1, { a: { b: 1 } })
        await rejectsCode(() => store.index.updateWithRetry(u, 'e', make()), 'NVENT_INVALID_NAME')
        assert.deepEqual((await store.index.get(u, 'e')).metadata, { a: { b: 1 }, version: 0 })
        assertNotPolluted()
      }))
    }

    for (const field of ['__proto__', '__proto__.polluted', 'constructor', 'constructor.prototype', 'a.prototype', 'prototype.polluted']) {
      test(`increment refuses the field path "${field}" and changes nothing`, withStore(async (store, u) => {
        await store.index.add(u, 'e', 1, { a: { n: 1 } })
        await rejectsCode(() => store.index.increment(u, 'e', field, 1), 'NVENT_INVALID_NAME')
        assert.deepEqual((await store.index.get(u, 'e')).metadata, { a: { n: 1 }, version: 0 })
        assertNotPolluted()
      }))
    }

    test('add refuses a "__proto__.polluted" dot key', withStore(async (store, u) => {
      await rejectsCode(() => store.index.add(u, 'e', 1, { '__proto__.polluted': 'yes' }), 'NVENT_INVALID_NAME')
      assert.equal(await store.index.get(u, 'e'), null)
      assertNotPolluted()
    }))

    test('add refuses a "constructor.prototype.polluted" dot key', withStore(async (store, u) => {
      await rejectsCode(() => store.index.add(u, 'e', 1, { 'constructor.prototype.polluted': 'yes' }), 'NVENT_INVALID_NAME')
      assert.equal(await store.index.get(u, 'e'), null)
      assertNotPolluted()
    }))

    // serde_json's raw-value marker as a path segment: a file store accepted it and then could
    // not replay its own log (found by the field_path fuzz target).
    test('add, update and increment refuse the segment "$serde_json::private::RawValue"', withStore(async (store, u) => {
      const marker = '$serde_json::private::RawValue'
      await rejectsCode(() => store.index.add(u, 'e', 1, { [`a.${marker}`]: 1 }), 'NVENT_INVALID_NAME')
      assert.equal(await store.index.get(u, 'e'), null)
      await store.index.add(u, 'e', 1, { a: { n: 1 } })
      await rejectsCode(() => store.index.update(u, 'e', { [`a.${marker}`]: 1 }), 'NVENT_INVALID_NAME')
      await rejectsCode(() => store.index.increment(u, 'e', `a.${marker}`, 1), 'NVENT_INVALID_NAME')
      assert.deepEqual((await store.index.get(u, 'e')).metadata, { a: { n: 1 }, version: 0 })
    }))

    // SPEC §2: a field path is at most 1024 bytes and 128 segments, wherever one is taken:
    // merge keys (add/update metadata, at any level), increments, filters, sorts.
    const overLimits = [
      ['129 segments', segments(129)],
      ['1025 bytes', 'p'.repeat(1025)],
      ['1 MiB', 'q'.repeat(MiB)],
    ]
    for (const [label, field] of overLimits) {
      test(`a field path of ${label} is refused with NVENT_INVALID_NAME everywhere and changes nothing`, withStore(async (store, u) => {
        await store.index.add(u, 'e', 1, { n: 1 })
        await store.save(`${u}-docs`, 'd', { n: 1 })
        await rejectsCode(() => store.index.add(u, 'f', 1, { [field]: 1 }), 'NVENT_INVALID_NAME')
        await rejectsCode(() => store.index.add(u, 'f', 1, { x: { [field]: 1 } }), 'NVENT_INVALID_NAME')
        await rejectsCode(() => store.index.update(u, 'e', { [field]: 1 }), 'NVENT_INVALID_NAME')
        await rejectsCode(() => store.index.update(u, 'e', { x: { [field]: 1 } }), 'NVENT_INVALID_NAME')
        await rejectsCode(() => store.index.updateWithRetry(u, 'e', { [field]: 1 }), 'NVENT_INVALID_NAME')
        await rejectsCode(() => store.index.increment(u, 'e', field, 1), 'NVENT_INVALID_NAME')
        await rejectsCode(() => store.index.read(u, { filter: { [field]: 1 } }), 'NVENT_INVALID_NAME')
        await rejectsCode(() => store.index.count(u, { filter: { [field]: 1 } }), 'NVENT_INVALID_NAME')
        await rejectsCode(() => store.list(`${u}-docs`, { filter: { [field]: 1 } }), 'NVENT_INVALID_NAME')
        await rejectsCode(() => store.list(`${u}-docs`, { sortBy: field }), 'NVENT_INVALID_NAME')
        assert.equal(await store.index.get(u, 'f'), null)
        assert.deepEqual((await store.index.get(u, 'e')).metadata, { n: 1, version: 0 })
      }))
    }

    test('field paths of 1024 bytes and of 128 segments are accepted and read back', withStore(async (store, u) => {
      const long = 'p'.repeat(1024)
      const deep = segments(128)
      await store.index.add(u, 'e', 1, { [long]: 1 })
      assert.equal(await store.index.increment(u, 'e', long, 2), 3)
      await store.index.add(u, 'g', 2, { [deep]: 1 })
      assert.equal(await store.index.increment(u, 'g', deep, 2), 3)
      assert.equal(await store.index.update(u, 'g', { [deep]: 5 }), true)
      assert.deepEqual((await store.index.get(u, 'g')).metadata, { ...under(128, 5), version: 2 })
      assert.deepEqual((await store.index.read(u, { filter: { [deep]: 5 } })).map((e) => e.id), ['g'])
      assert.equal(await store.index.count(u, { filter: { [long]: 3 } }), 1)
      await store.save(`${u}-docs`, 'd', under(128, 1))
      assert.deepEqual(await store.list(`${u}-docs`, { filter: { [deep]: 1 }, sortBy: deep }), [{ id: 'd', doc: under(128, 1) }])
    }))

    test('nested objects and dot keys together may not nest deeper than 128 levels', withStore(async (store, u) => {
      await store.index.add(u, 'e', 1, {})
      // Every key is a valid path, but expanded they nest 10 × 20 levels.
      let v = 1
      for (let i = 0; i < 10; i++) v = { [segments(20)]: v }
      await rejectsCode(() => store.index.add(u, 'f', 1, v), 'NVENT_NESTING_TOO_DEEP')
      await rejectsCode(() => store.index.update(u, 'e', v), 'NVENT_NESTING_TOO_DEEP')
      // 128 segments are 128 levels: nothing more fits under them.
      await rejectsCode(() => store.index.update(u, 'e', { [segments(128)]: { b: 1 } }), 'NVENT_NESTING_TOO_DEEP')
      await rejectsCode(() => store.index.update(u, 'e', { [segments(127)]: [[1]] }), 'NVENT_NESTING_TOO_DEEP')
      assert.equal(await store.index.update(u, 'e', { [segments(127)]: [1] }), true)
      assert.deepEqual((await store.index.get(u, 'e')).metadata, { ...under(127, [1]), version: 1 })
      assert.equal(await store.index.get(u, 'f'), null)
    }))

    // SPEC §2: what a call accepts, every backend stores and reads back. Redis scripts
    // once passed these through Lua's `unpack`, which refuses ~8,000 values (NVENT_INTERNAL).
    test('metadata of 10,000 leaves, a merge of 10,000 paths and a filter of 9,000 paths work', withStore(async (store, u) => {
      const many = (n, f) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, f(i)]))
      await store.index.add(u, 'e', 1, many(10000, (i) => i))
      assert.equal(await store.index.update(u, 'e', Object.fromEntries(Array.from({ length: 10000 }, (_, i) => [`m.k${i}.x`, i]))), true)
      const { metadata } = await store.index.get(u, 'e')
      assert.equal(Object.keys(metadata).length, 10002)
      assert.equal(metadata.k9999, 9999)
      assert.equal(metadata.m.k9999.x, 9999)
      const filter = many(9000, (i) => i)
      assert.equal(await store.index.count(u, { filter }), 1)
      assert.deepEqual((await store.index.read(u, { filter })).map((e) => e.id), ['e'])
      assert.equal(await store.index.count(u, { filter: { ...filter, k8999: -1 } }), 0)
    }))

    // Issue 14 item 1: 12,000 segments killed Node with SIGSEGV (add, update), or the next
    // read did (increment). Run in a child so that a crash fails this test, not the run.
    test('a field path of 12,000 segments is refused without crashing the process', { skip: !backend.storeSpec }, () => {
      const k = unique(`deep-${backend.name}`)
      const body = `
        const deep = Array.from({ length: 12000 }, () => 'a').join('.')
        const k = ${JSON.stringify(k)}
        await store.index.add(k, 'e', 1, { n: 1 })
        await store.save(k + '-docs', 'd', { n: 1 })
        return {
          add: await codeOf(() => store.index.add(k, 'f', 1, { [deep]: 1 })),
          update: await codeOf(() => store.index.update(k, 'e', { [deep]: 1 })),
          updateWithRetry: await codeOf(() => store.index.updateWithRetry(k, 'e', { [deep]: 1 })),
          increment: await codeOf(() => store.index.increment(k, 'e', deep, 1)),
          read: await codeOf(() => store.index.read(k, { filter: { [deep]: 1 } })),
          count: await codeOf(() => store.index.count(k, { filter: { [deep]: 1 } })),
          list: await codeOf(() => store.list(k + '-docs', { sortBy: deep })),
          entries: await store.index.read(k),
        }
      `
      const r = spawnSync(process.execPath, [storeChild, JSON.stringify(backend.storeSpec()), body], {
        timeout: 90000,
        encoding: 'utf8',
      })
      assert.equal(r.error, undefined, 'the child exited by itself')
      assert.equal(r.signal, null, `the child was killed by ${r.signal}: ${r.stderr}`)
      assert.equal(r.status, 0, r.stderr)
      const { entries, ...codes } = JSON.parse(r.stdout.trim().split('\n').pop())
      for (const [call, code] of Object.entries(codes)) assert.equal(code, 'NVENT_INVALID_NAME', call)
      assert.deepEqual(entries, [{ id: 'e', score: 1, metadata: { n: 1, version: 0 } }])
    })

    test('segments that merely resemble the forbidden ones are fine', withStore(async (store, u) => {
      await store.index.add(u, 'e', 1, {})
      assert.equal(await store.index.update(u, 'e', { __proto: 1, 'x.constructors': 2, prototypes: 3 }), true)
      assert.deepEqual((await store.index.get(u, 'e')).metadata, { __proto: 1, x: { constructors: 2 }, prototypes: 3, version: 1 })
    }))
  })

  // ---------------------------------------------------------------------------------------
  describe(`${backend.name}: store errors and close (§2)`, () => {
    test('errors are NventErrors with a code, for every tier (values: strict)', withStore(async (store, u) => {
      const failures = [
        () => store.kv.set('', 1),
        () => store.stream.append(u, {}),
        () => store.index.increment(`${u}:i`, 'missing', 'f'),
        () => store.index.updateWithRetry(`${u}:i`, 'missing', { a: 1 }),
        () => store.kv.set(u, { f: () => {} }),
      ]
      for (const call of failures) {
        await assert.rejects(call(), (e) => e instanceof NventError && e instanceof Error && /^NVENT_[A-Z_]+$/.test(e.code))
      }
    }, STRICT))

    const afterClose = [
      ['kv.get', (s) => s.kv.get('k')],
      ['kv.set', (s) => s.kv.set('k', 1)],
      ['kv.delete', (s) => s.kv.delete('k')],
      ['kv.clear', (s) => s.kv.clear('k*')],
      ['kv.increment', (s) => s.kv.increment('k')],
      ['kv.mget', (s) => s.kv.mget(['k'])],
      ['kv.mset', (s) => s.kv.mset([{ key: 'k', value: 1 }])],
      ['stream.append', (s) => s.stream.append('s', { type: 't' })],
      ['stream.read', (s) => s.stream.read('s')],
      ['stream.subscribe', (s) => s.stream.subscribe('s', () => {})],
      ['stream.count', (s) => s.stream.count('s')],
      ['append', (s) => s.append('s', { type: 't' })],
      ['read', (s) => s.read('s')],
      ['index.add', (s) => s.index.add('i', 'e', 1)],
      ['index.get', (s) => s.index.get('i', 'e')],
      ['index.read', (s) => s.index.read('i')],
      ['index.update', (s) => s.index.update('i', 'e', {})],
      ['index.increment', (s) => s.index.increment('i', 'e', 'f')],
      ['save', (s) => s.save('c', 'd', {})],
      ['get', (s) => s.get('c', 'd')],
      ['list', (s) => s.list('c')],
      ['delete', (s) => s.delete('c', 'd')],
      ['claim.once', (s) => s.claim.once('c', 'o', 1)],
    ]
    for (const [what, call] of afterClose) {
      test(`${what} after close() rejects with NVENT_CLOSED`, async () => {
        const store = backend.store()
        await store.kv.exists(unique('warm'))
        await store.close()
        await rejectsCode(() => call(store), 'NVENT_CLOSED')
      })
    }

    test('a scope of a closed store fails with NVENT_CLOSED', async () => {
      const store = backend.store()
      await store.close()
      await failsCode(() => store.scope('tenant', 'x').kv.get('k'), 'NVENT_CLOSED')
    })

    test('close() on a never-used store resolves', async () => {
      const store = backend.store()
      await store.close()
    })
  })

  // ---------------------------------------------------------------------------------------
  describe(`${backend.name}: store.stream (§3.1)`, () => {
    test('append returns { id, ts, ...event } with every field round-tripped', withStore(async (store, u) => {
      const event = {
        type: 'step.completed',
        runId: 'run-1',
        flowName: 'flow',
        stepName: 'step',
        stepId: 'step-1',
        attempt: 2,
        data: { result: 42, s: '123', z: 0, f: false, e: '', n: null },
        extra: { any: ['thing', 1.5] },
      }
      const before = Date.now()
      const rec = await store.stream.append(u, event)
      const after = Date.now()
      assert.equal(typeof rec.id, 'string')
      idParts(rec.id)
      assert.equal(typeof rec.ts, 'number')
      assert.ok(Number.isInteger(rec.ts), 'ts is whole milliseconds')
      assert.ok(rec.ts >= before - 5 && rec.ts <= after + 5, `ts ${rec.ts} is now (${before}..${after}) in ms`)
      const { id, ts, ...rest } = rec
      assertExact(rest, event, 'the event fields')
    }))

    test('the record keys are id, ts, then the event keys in order', withStore(async (store, u) => {
      const event = { type: 't', zeta: 1, runId: 'r', alpha: 2, data: { y: 1, b: 2 } }
      const rec = await store.stream.append(u, event)
      assert.deepEqual(Object.keys(rec), ['id', 'ts', ...Object.keys(event)])
      const [read] = await store.stream.read(u)
      assert.deepEqual(Object.keys(read), ['id', 'ts', ...Object.keys(event)])
      assert.deepEqual(Object.keys(read.data), ['y', 'b'])
    }))

    test('read returns the records exactly as append returned them', withStore(async (store, u) => {
      const recs = []
      for (let i = 0; i < 5; i++) recs.push(await store.stream.append(u, { type: 't', runId: 'r', flowName: 'f', data: { i, s: String(i) } }))
      assert.deepEqual(await store.stream.read(u), recs)
    }))

    // Calls of one turn take effect in call order (docs/DECISIONS.md), also when the JS
    // layer splits them into several batches and the first ones wait for the store to open
    // (a fresh adapter each run): the file store let a batch resumed after the open race
    // the later ones, and ids came out of call order in 5-18 of 20 runs.
    test('500 appends made in one turn, 20 times: ids and stored order follow call order', async () => {
      for (let run = 0; run < 20; run++) {
        await withStore(async (store, u) => {
          const recs = await Promise.all(Array.from({ length: 500 }, (_, i) => store.stream.append(u, { type: 't', data: i })))
          assert.deepEqual(recs.map((r) => r.data), Array.from({ length: 500 }, (_, i) => i))
          assertIncreasing(recs.map((r) => r.id))
          const read = await store.stream.read(u)
          assert.deepEqual(read.map((r) => r.data), Array.from({ length: 500 }, (_, i) => i), `run ${run}: stored order`)
          assert.deepEqual(read.map((r) => r.id), recs.map((r) => r.id))
        })()
      }
    })

    test('kv.set, kv.get and appends mixed in one turn, 20 times: each takes effect in call order', async () => {
      for (let run = 0; run < 20; run++) {
        await withStore(async (store, u) => {
          const calls = []
          for (let i = 0; i < 300; i++) {
            if (i % 3 === 0) calls.push(store.kv.set(`${u}:k`, i))
            else if (i % 3 === 1) calls.push(store.kv.get(`${u}:k`))
            else calls.push(store.stream.append(u, { type: 't', data: i }))
          }
          const out = await Promise.all(calls)
          for (let i = 1; i < 300; i += 3) assert.equal(out[i], i - 1, `run ${run}: the get after set ${i - 1}`)
          assertIncreasing(out.filter((_, i) => i % 3 === 2).map((r) => r.id))
          assert.equal(await store.kv.get(`${u}:k`), 297, `run ${run}: the last set wins`)
          assert.deepEqual((await store.stream.read(u)).map((r) => r.data), out.filter((_, i) => i % 3 === 2).map((r) => r.data))
        })()
      }
    })

    test('ids are strictly increasing in append order', withStore(async (store, u) => {
      const ids = []
      for (let i = 0; i < 200; i++) ids.push((await store.stream.append(u, { type: 't', data: i })).id)
      assertIncreasing(ids)
      assert.deepEqual((await store.stream.read(u)).map((r) => r.id), ids)
    }))

    test('ids stay unique and ordered under concurrent appends', withStore(async (store, u) => {
      const recs = await Promise.all(Array.from({ length: 100 }, (_, i) => store.stream.append(u, { type: 't', data: i })))
      assert.equal(new Set(recs.map((r) => r.id)).size, 100)
      const read = await store.stream.read(u)
      assert.equal(read.length, 100)
      assertIncreasing(read.map((r) => r.id))
    }))

    test('ids are unique per subject, independently of other subjects', withStore(async (store, u) => {
      const a = await store.stream.append(`${u}:a`, { type: 't' })
      const b = await store.stream.append(`${u}:b`, { type: 't' })
      const a2 = await store.stream.append(`${u}:a`, { type: 't' })
      assert.ok(idLess(a.id, a2.id))
      assert.deepEqual(await store.stream.read(`${u}:a`), [a, a2])
      assert.deepEqual(await store.stream.read(`${u}:b`), [b])
    }))

    test('a caller-supplied id and ts are ignored', withStore(async (store, u) => {
      const before = Date.now()
      const rec = await store.stream.append(u, { type: 't', id: '99999999999999-7', ts: 5 })
      assert.notEqual(rec.id, '99999999999999-7')
      assert.notEqual(rec.ts, 5)
      assert.ok(rec.ts >= before - 5)
      const next = await store.stream.append(u, { type: 't', id: '0-1', ts: 1 })
      assert.ok(idLess(rec.id, next.id), 'ordering follows the generated ids')
      assert.deepEqual(await store.stream.read(u), [rec, next])
    }))

    test('type is required: a missing type is NVENT_INVALID_ARGUMENT and nothing is appended', withStore(async (store, u) => {
      await rejectsCode(() => store.stream.append(u, { runId: 'r', data: 1 }), 'NVENT_INVALID_ARGUMENT')
      await rejectsCode(() => store.stream.append(u, { type: undefined, data: 1 }), 'NVENT_INVALID_ARGUMENT')
      assert.equal(await store.stream.count(u), 0)
      assert.deepEqual(await store.stream.read(u), [])
    }))

    test('type must be a string', withStore(async (store, u) => {
      await rejectsCode(() => store.stream.append(u, { type: 5 }), 'NVENT_INVALID_ARGUMENT')
      await rejectsCode(() => store.stream.append(u, { type: { a: 1 } }), 'NVENT_INVALID_ARGUMENT')
      assert.equal(await store.stream.count(u), 0)
    }))

    test('an event that is not an object is NVENT_INVALID_ARGUMENT', withStore(async (store, u) => {
      await rejectsCode(() => store.stream.append(u, null), 'NVENT_INVALID_ARGUMENT')
      await rejectsCode(() => store.stream.append(u, 'step.completed'), 'NVENT_INVALID_ARGUMENT')
      assert.equal(await store.stream.count(u), 0)
    }))

    test('a top-level field whose value is undefined is treated as absent', withStore(async (store, u) => {
      const rec = await store.stream.append(u, { type: 't', runId: undefined, stepName: undefined, data: undefined, keep: 1 })
      for (const k of ['runId', 'stepName', 'data']) assert.ok(!(k in rec), `${k} is absent from the record`)
      assert.equal(rec.keep, 1)
      const [read] = await store.stream.read(u)
      for (const k of ['runId', 'stepName', 'data']) assert.ok(!(k in read), `${k} is absent from the read record`)
      assert.deepEqual(read, rec)
    }))

    test('a null field is kept as null', withStore(async (store, u) => {
      const rec = await store.stream.append(u, { type: 't', data: null, stepName: null })
      assert.ok('data' in rec && rec.data === null)
      const [read] = await store.stream.read(u)
      assert.equal(read.data, null)
      assert.equal(read.stepName, null)
    }))

    test('undefined nested inside data is refused with its path (values: strict)', withStore(async (store, u) => {
      await rejectsCode(() => store.stream.append(u, { type: 't', data: { x: undefined } }), 'NVENT_NOT_SERIALIZABLE', (e) => {
        assert.equal(e.path, '$.data.x')
      })
      assert.equal(await store.stream.count(u), 0)
    }, STRICT))

    // Five events of types a, b, a, b, a.
    async function seed(store, subject, n = 5) {
      const recs = []
      for (let i = 0; i < n; i++) recs.push(await store.stream.append(subject, { type: i % 2 ? 'b' : 'a', data: i }))
      return recs
    }

    test('read without options returns every event, oldest first', withStore(async (store, u) => {
      const recs = await seed(store, u)
      assert.deepEqual(await store.stream.read(u), recs)
      assert.deepEqual(await store.stream.read(u, {}), recs)
    }))

    test('order "desc" returns newest first', withStore(async (store, u) => {
      const recs = await seed(store, u)
      assert.deepEqual(await store.stream.read(u, { order: 'desc' }), [...recs].reverse())
      assert.deepEqual(await store.stream.read(u, { order: 'asc' }), recs)
    }))

    test('after is an exclusive id bound', withStore(async (store, u) => {
      const recs = await seed(store, u)
      assert.deepEqual(await store.stream.read(u, { after: recs[1].id }), recs.slice(2))
      assert.deepEqual(await store.stream.read(u, { after: recs[4].id }), [])
    }))

    test('before is an exclusive id bound', withStore(async (store, u) => {
      const recs = await seed(store, u)
      assert.deepEqual(await store.stream.read(u, { before: recs[3].id }), recs.slice(0, 3))
      assert.deepEqual(await store.stream.read(u, { before: recs[0].id }), [])
    }))

    test('after and before combine', withStore(async (store, u) => {
      const recs = await seed(store, u)
      assert.deepEqual(await store.stream.read(u, { after: recs[0].id, before: recs[4].id }), recs.slice(1, 4))
      assert.deepEqual(await store.stream.read(u, { after: recs[1].id, before: recs[2].id }), [])
    }))

    test('after with order "desc" returns the newer events newest first', withStore(async (store, u) => {
      const recs = await seed(store, u)
      assert.deepEqual(await store.stream.read(u, { after: recs[1].id, order: 'desc' }), recs.slice(2).reverse())
    }))

    test('before with order "desc" and a limit pages backwards', withStore(async (store, u) => {
      const recs = await seed(store, u)
      assert.deepEqual(await store.stream.read(u, { before: recs[4].id, order: 'desc', limit: 2 }), [recs[3], recs[2]])
    }))

    test('limit returns the first N, or with "desc" the newest N', withStore(async (store, u) => {
      const recs = await seed(store, u)
      assert.deepEqual(await store.stream.read(u, { limit: 2 }), recs.slice(0, 2))
      assert.deepEqual(await store.stream.read(u, { limit: 2, order: 'desc' }), [recs[4], recs[3]])
      assert.deepEqual(await store.stream.read(u, { limit: 100 }), recs)
    }))

    test('types filters by event type', withStore(async (store, u) => {
      const recs = await seed(store, u)
      assert.deepEqual(await store.stream.read(u, { types: ['a'] }), [recs[0], recs[2], recs[4]])
      assert.deepEqual(await store.stream.read(u, { types: ['b'] }), [recs[1], recs[3]])
      assert.deepEqual(await store.stream.read(u, { types: ['a', 'b'] }), recs)
      assert.deepEqual(await store.stream.read(u, { types: ['zzz'] }), [])
    }))

    test('types filters before limit counts', withStore(async (store, u) => {
      const recs = await seed(store, u)
      assert.deepEqual(await store.stream.read(u, { types: ['b'], limit: 2 }), [recs[1], recs[3]])
      assert.deepEqual(await store.stream.read(u, { types: ['b'], limit: 1 }), [recs[1]])
      assert.deepEqual(await store.stream.read(u, { types: ['a'], limit: 2, order: 'desc' }), [recs[4], recs[2]])
    }))

    test('types filters before limit counts on a long stream', withStore(async (store, u) => {
      for (let i = 0; i < 120; i++) await store.stream.append(u, { type: 'noise', data: i })
      const wanted = await store.stream.append(u, { type: 'rare', data: 'x' })
      assert.deepEqual(await store.stream.read(u, { types: ['rare'], limit: 1 }), [wanted])
    }))

    async function spaced(store, subject) {
      const recs = []
      for (let i = 0; i < 3; i++) {
        if (recs.length) await untilAfter(recs[recs.length - 1].ts)
        recs.push(await store.stream.append(subject, { type: 't', data: i }))
      }
      assert.ok(recs[0].ts < recs[1].ts && recs[1].ts < recs[2].ts, 'the three events have distinct ts')
      return recs
    }

    test('from and to are inclusive millisecond bounds', withStore(async (store, u) => {
      const [e0, e1, e2] = await spaced(store, u)
      assert.deepEqual(await store.stream.read(u, { from: e1.ts }), [e1, e2])
      assert.deepEqual(await store.stream.read(u, { to: e1.ts }), [e0, e1])
      assert.deepEqual(await store.stream.read(u, { from: e1.ts, to: e1.ts }), [e1])
      assert.deepEqual(await store.stream.read(u, { from: e0.ts, to: e2.ts }), [e0, e1, e2])
      assert.deepEqual(await store.stream.read(u, { from: e2.ts + 1 }), [])
      assert.deepEqual(await store.stream.read(u, { to: e0.ts - 1 }), [])
    }))

    test('from and to combine with order "desc" and limit', withStore(async (store, u) => {
      const [e0, e1, e2] = await spaced(store, u)
      assert.deepEqual(await store.stream.read(u, { from: e0.ts, order: 'desc', limit: 2 }), [e2, e1])
      assert.deepEqual(await store.stream.read(u, { to: e2.ts, order: 'desc' }), [e2, e1, e0])
    }))

    test('0 is a real bound for to (nothing is that old)', withStore(async (store, u) => {
      await seed(store, u, 2)
      assert.deepEqual(await store.stream.read(u, { to: 0 }), [])
      assert.deepEqual(await store.stream.read(u, { from: 0, to: 0 }), [])
    }))

    test('0 is a real bound for from (everything is newer)', withStore(async (store, u) => {
      const recs = await seed(store, u, 2)
      assert.deepEqual(await store.stream.read(u, { from: 0 }), recs)
    }))

    test('there is no default limit', withStore(async (store, u) => {
      for (let i = 0; i < 150; i++) await store.stream.append(u, { type: 't', data: i })
      const all = await store.stream.read(u)
      assert.equal(all.length, 150)
      assert.deepEqual(all.map((r) => r.data), Array.from({ length: 150 }, (_, i) => i))
    }))

    test('reading a missing subject returns []', withStore(async (store, u) => {
      assert.deepEqual(await store.stream.read(`${u}:missing`), [])
      assert.deepEqual(await store.stream.read(`${u}:missing`, { order: 'desc', limit: 5, types: ['x'] }), [])
    }))

    test('the seed option fromId means after', withStore(async (store, u) => {
      const recs = await seed(store, u)
      assert.deepEqual(await store.stream.read(u, { fromId: recs[2].id }), recs.slice(3))
    }))

    test('the seed option direction "backward" means desc and "forward" asc', withStore(async (store, u) => {
      const recs = await seed(store, u)
      assert.deepEqual(await store.stream.read(u, { direction: 'backward' }), [...recs].reverse())
      assert.deepEqual(await store.stream.read(u, { direction: 'forward' }), recs)
      assert.deepEqual(await store.stream.read(u, { direction: 'backward', limit: 1 }), [recs[4]])
    }))

    test('subscribe returns a handle { id, subject, unsubscribe() }', withStore(async (store, u) => {
      const handle = await store.stream.subscribe(u, () => {})
      assert.equal(typeof handle.id, 'string')
      assert.ok(handle.id.length > 0)
      assert.equal(handle.subject, u)
      assert.equal(typeof handle.unsubscribe, 'function')
      await handle.unsubscribe()
    }))

    test('subscribe delivers every later append in order, exactly as stored', withStore(async (store, u) => {
      const got = collector()
      const handle = await store.stream.subscribe(u, got.push)
      const recs = []
      for (let i = 0; i < 20; i++) recs.push(await store.stream.append(u, { type: 't', runId: 'r', data: { i } }))
      await got.until(20)
      assert.deepEqual(got.items, recs)
      await handle.unsubscribe()
    }))

    test('subscribe delivers concurrent appends in id order', withStore(async (store, u) => {
      const got = collector()
      const handle = await store.stream.subscribe(u, got.push)
      await Promise.all(Array.from({ length: 100 }, (_, i) => store.stream.append(u, { type: 't', data: i })))
      await got.until(100)
      assertIncreasing(got.items.map((r) => r.id))
      await handle.unsubscribe()
    }))

    test('subscribe replays no history', withStore(async (store, u) => {
      await store.stream.append(u, { type: 'old' })
      const got = collector()
      const handle = await store.stream.subscribe(u, got.push)
      const fresh = await store.stream.append(u, { type: 'new' })
      await got.until(1)
      await settle()
      assert.deepEqual(got.items, [fresh])
      await handle.unsubscribe()
    }))

    test('a subscription sees only its own subject', withStore(async (store, u) => {
      const got = collector()
      const handle = await store.stream.subscribe(`${u}:a`, got.push)
      await store.stream.append(`${u}:b`, { type: 'other' })
      await store.stream.append(`${u}:ab`, { type: 'other' })
      const mine = await store.stream.append(`${u}:a`, { type: 'mine' })
      await got.until(1)
      await settle()
      assert.deepEqual(got.items, [mine])
      await handle.unsubscribe()
    }))

    test('two subscriptions both receive every append', withStore(async (store, u) => {
      const a = collector()
      const b = collector()
      const ha = await store.stream.subscribe(u, a.push)
      const hb = await store.stream.subscribe(u, b.push)
      const rec = await store.stream.append(u, { type: 't' })
      await a.until(1)
      await b.until(1)
      assert.deepEqual(a.items, [rec])
      assert.deepEqual(b.items, [rec])
      await ha.unsubscribe()
      await hb.unsubscribe()
    }))

    test('unsubscribe stops delivery', withStore(async (store, u) => {
      const a = collector()
      const b = collector()
      const ha = await store.stream.subscribe(u, a.push)
      const hb = await store.stream.subscribe(u, b.push)
      const first = await store.stream.append(u, { type: 'first' })
      await a.until(1)
      await ha.unsubscribe()
      await store.stream.append(u, { type: 'second' })
      await b.until(2)
      await settle()
      assert.deepEqual(a.items, [first])
      await hb.unsubscribe()
    }))

    // SPEC §3.1: an append that resolved before unsubscribe() was called is still delivered;
    // once unsubscribe() resolved, nothing more is. Before the fix: memory 0/20, file ~9/20.
    test('an append that resolved before unsubscribe() is delivered (20 runs)', withStore(async (store, u) => {
      let delivered = 0
      for (let i = 0; i < 20; i++) {
        const got = []
        const h = await store.stream.subscribe(`${u}:${i}`, (e) => got.push(e))
        const rec = await store.stream.append(`${u}:${i}`, { type: 't', data: i })
        await h.unsubscribe()
        if (got.length === 1 && got[0].id === rec.id) delivered++
        else assert.deepEqual(got, [rec], `run ${i}: delivered by the time unsubscribe() resolved`)
      }
      assert.equal(delivered, 20)
    }))

    test('nothing is delivered after unsubscribe() resolved', withStore(async (store, u) => {
      const a = []
      const b = collector()
      const ha = await store.stream.subscribe(u, (e) => a.push(e))
      const hb = await store.stream.subscribe(u, b.push)
      const first = await store.stream.append(u, { type: 'first' })
      await ha.unsubscribe()
      assert.deepEqual(a, [first])
      await store.stream.append(u, { type: 'second' })
      // b sees the second append: had a still been subscribed, it would have seen it first.
      await b.until(2)
      assert.deepEqual(a, [first])
      await hb.unsubscribe()
    }))

    test('delete returns true when the subject existed and removes its events', withStore(async (store, u) => {
      await seed(store, u, 3)
      assert.equal(await store.stream.delete(u), true)
      assert.deepEqual(await store.stream.read(u), [])
      assert.equal(await store.stream.count(u), 0)
    }))

    test('delete returns false for a missing subject', withStore(async (store, u) => {
      assert.equal(await store.stream.delete(`${u}:missing`), false)
      await seed(store, u, 1)
      assert.equal(await store.stream.delete(u), true)
      assert.equal(await store.stream.delete(u), false)
    }))

    test('delete leaves other subjects alone', withStore(async (store, u) => {
      const keep = await store.stream.append(`${u}:keep`, { type: 't' })
      await store.stream.append(`${u}:drop`, { type: 't' })
      await store.stream.delete(`${u}:drop`)
      assert.deepEqual(await store.stream.read(`${u}:keep`), [keep])
    }))

    test('appending after delete starts a fresh stream', withStore(async (store, u) => {
      await seed(store, u, 2)
      await store.stream.delete(u)
      const rec = await store.stream.append(u, { type: 'again' })
      assert.deepEqual(await store.stream.read(u), [rec])
      assert.equal(await store.stream.count(u), 1)
    }))

    test('count returns the number of events', withStore(async (store, u) => {
      assert.equal(await store.stream.count(u), 0)
      await seed(store, u, 7)
      assert.equal(await store.stream.count(u), 7)
      await store.stream.append(u, { type: 'c' })
      assert.equal(await store.stream.count(u), 8)
    }))

    test('returned records are copies', withStore(async (store, u) => {
      const rec = await store.stream.append(u, { type: 't', data: { n: 1, list: [1] } })
      rec.data.n = 2
      rec.data.list.push(2)
      const [read] = await store.stream.read(u)
      assert.deepEqual(read.data, { n: 1, list: [1] })
      read.data.n = 3
      read.type = 'changed'
      const [again] = await store.stream.read(u)
      assert.deepEqual(again.data, { n: 1, list: [1] })
      assert.equal(again.type, 't')
    }))

    test('mutating the appended event afterwards does not change the stored record', withStore(async (store, u) => {
      const event = { type: 't', data: { n: 1 } }
      await store.stream.append(u, event)
      event.data.n = 99
      event.type = 'changed'
      const [read] = await store.stream.read(u)
      assert.equal(read.type, 't')
      assert.deepEqual(read.data, { n: 1 })
    }))
  })

  // ---------------------------------------------------------------------------------------
  describe(`${backend.name}: store.kv (§3.2)`, () => {
    test('get of a missing key returns null', withStore(async (store, u) => {
      assert.equal(await store.kv.get(u), null)
    }))

    test('set then get returns the value; a second set overwrites', withStore(async (store, u) => {
      await store.kv.set(u, { a: 1 })
      assert.deepEqual(await store.kv.get(u), { a: 1 })
      await store.kv.set(u, [2])
      assert.deepEqual(await store.kv.get(u), [2])
    }))

    test('a value stored without ttl has no expiry', withStore(async (store, u) => {
      await store.kv.set(u, 1)
      assert.equal(await store.kv.ttl(u), null)
    }))

    test('ttl 0 means no expiry', withStore(async (store, u) => {
      await store.kv.set(u, 1, 0)
      assert.equal(await store.kv.ttl(u), null)
      assert.equal(await store.kv.get(u), 1)
    }))

    test('a key with a fractional ttl (seconds) expires', withStore(async (store, u) => {
      await store.kv.set(u, 'soon', 0.05)
      await waitFor(async () => (await store.kv.get(u)) === null, { timeoutMs: 5000, what: 'the key to expire' })
      assert.equal(await store.kv.exists(u), false)
      assert.equal(await store.kv.ttl(u), null)
      assert.deepEqual(await store.kv.mget([u]), [null])
    }))

    test('ttl is in seconds, not milliseconds', withStore(async (store, u) => {
      await store.kv.set(u, 'stays', 3)
      await settle(100)
      assert.equal(await store.kv.get(u), 'stays', 'a 3 s ttl has not expired after 100 ms')
      const left = await store.kv.ttl(u)
      assert.ok(left > 2 && left <= 3, `ttl ${left} is seconds left of 3`)
    }))

    test('a fractional ttl keeps its fraction', withStore(async (store, u) => {
      await store.kv.set(u, 'x', 2.5)
      const left = await store.kv.ttl(u)
      assert.ok(left > 2 && left <= 2.5, `ttl ${left} is within (2, 2.5]`)
    }))

    test('a later set without ttl clears the expiry', withStore(async (store, u) => {
      const t0 = Date.now()
      await store.kv.set(u, 1, 0.4)
      await store.kv.set(u, 2)
      assert.equal(await store.kv.ttl(u), null)
      await untilAfter(t0, 700)
      assert.equal(await store.kv.get(u), 2)
    }))

    test('a later set with a new ttl replaces the old ttl', withStore(async (store, u) => {
      await store.kv.set(u, 1, 100)
      await store.kv.set(u, 2, 5)
      const left = await store.kv.ttl(u)
      assert.ok(left > 4 && left <= 5, `ttl ${left} is the new one`)
    }))

    test('an expired counter starts again from 0', withStore(async (store, u) => {
      await store.kv.set(u, 5, 0.05)
      await waitFor(async () => !(await store.kv.exists(u)), { timeoutMs: 5000, what: 'expiry' })
      assert.equal(await store.kv.increment(u), 1)
    }))

    test('delete removes a key and is idempotent', withStore(async (store, u) => {
      await store.kv.set(u, 1)
      await store.kv.delete(u)
      assert.equal(await store.kv.get(u), null)
      await store.kv.delete(u)
      await store.kv.delete(`${u}:never`)
      assert.equal(await store.kv.exists(u), false)
    }))

    test('clear deletes keys matching * (any run, including ":") and returns the count', withStore(async (store, u) => {
      await store.kv.set(`${u}:a:1`, 1)
      await store.kv.set(`${u}:a:2`, 1)
      await store.kv.set(`${u}:a:x:y:z`, 1)
      await store.kv.set(`${u}:b:1`, 1)
      assert.equal(await store.kv.clear(`${u}:a:*`), 3)
      assert.deepEqual(await store.kv.mget([`${u}:a:1`, `${u}:a:2`, `${u}:a:x:y:z`, `${u}:b:1`]), [null, null, null, 1])
    }))

    test('clear with * in the middle matches any run', withStore(async (store, u) => {
      await store.kv.set(`${u}:x:mid:end`, 1)
      await store.kv.set(`${u}:xend`, 1)
      await store.kv.set(`${u}:x:end:no`, 1)
      assert.equal(await store.kv.clear(`${u}:x*end`), 2)
      assert.equal(await store.kv.get(`${u}:x:end:no`), 1)
    }))

    test('clear with ? matches exactly one character', withStore(async (store, u) => {
      await store.kv.set(`${u}:k1`, 1)
      await store.kv.set(`${u}:k2`, 1)
      await store.kv.set(`${u}:k22`, 1)
      await store.kv.set(`${u}:k`, 1)
      assert.equal(await store.kv.clear(`${u}:k?`), 2)
      assert.deepEqual(await store.kv.mget([`${u}:k1`, `${u}:k2`, `${u}:k22`, `${u}:k`]), [null, null, 1, 1])
    }))

    test('? matches one character even when it is multi-byte', withStore(async (store, u) => {
      await store.kv.set(`${u}:é`, 1)
      await store.kv.set(`${u}:😀`, 1)
      assert.equal(await store.kv.clear(`${u}:?`), 2)
    }))

    test('clear with \\* and \\? matches those characters literally', withStore(async (store, u) => {
      await store.kv.set(`${u}:lit*`, 1)
      await store.kv.set(`${u}:lit-x`, 1)
      await store.kv.set(`${u}:q?`, 1)
      await store.kv.set(`${u}:qa`, 1)
      assert.equal(await store.kv.clear(`${u}:lit\\*`), 1)
      assert.equal(await store.kv.clear(`${u}:q\\?`), 1)
      assert.deepEqual(await store.kv.mget([`${u}:lit*`, `${u}:lit-x`, `${u}:q?`, `${u}:qa`]), [null, 1, null, 1])
    }))

    test('clear with \\\\ matches a backslash', withStore(async (store, u) => {
      await store.kv.set(`${u}:a\\b`, 1)
      await store.kv.set(`${u}:ab`, 1)
      assert.equal(await store.kv.clear(`${u}:a\\\\b`), 1)
      assert.equal(await store.kv.get(`${u}:ab`), 1)
      assert.equal(await store.kv.get(`${u}:a\\b`), null)
    }))

    test('clear never treats the pattern as a regex or a character class', withStore(async (store, u) => {
      await store.kv.set(`${u}.a[1]`, 1)
      await store.kv.set(`${u}.a1`, 1)
      await store.kv.set(`${u}Xa[1]`, 1)
      await store.kv.set(`${u}.ab`, 1)
      assert.equal(await store.kv.clear(`${u}.a[1]`), 1)
      assert.equal(await store.kv.clear(`${u}.a[b]`), 0)
      assert.deepEqual(await store.kv.mget([`${u}.a[1]`, `${u}.a1`, `${u}Xa[1]`, `${u}.ab`]), [null, 1, 1, 1])
    }))

    test('clear treats regex metacharacters literally', withStore(async (store, u) => {
      await store.kv.set(`${u}(a+)|b$^{2}`, 1)
      await store.kv.set(`${u}aa`, 1)
      await store.kv.set(`${u}b`, 1)
      assert.equal(await store.kv.clear(`${u}(a+)|b$^{2}`), 1)
      assert.deepEqual(await store.kv.mget([`${u}aa`, `${u}b`]), [1, 1])
    }))

    test('clear of a pattern without wildcards deletes only that key', withStore(async (store, u) => {
      await store.kv.set(u, 1)
      await store.kv.set(`${u}x`, 1)
      assert.equal(await store.kv.clear(u), 1)
      assert.equal(await store.kv.get(`${u}x`), 1)
    }))

    test('clear with no match returns 0', withStore(async (store, u) => {
      assert.equal(await store.kv.clear(`${u}:nothing:*`), 0)
    }))

    test('increment of a missing key starts at 0 and returns the new value', withStore(async (store, u) => {
      assert.equal(await store.kv.increment(u), 1)
      assert.equal(await store.kv.increment(u), 2)
      assert.equal(await store.kv.increment(u, 5), 7)
      assert.equal(await store.kv.get(u), 7)
      assert.equal(typeof (await store.kv.get(u)), 'number')
    }))

    test('increment by a negative amount and decrement', withStore(async (store, u) => {
      assert.equal(await store.kv.decrement(u), -1)
      assert.equal(await store.kv.decrement(u, 4), -5)
      assert.equal(await store.kv.increment(u, -5), -10)
      assert.equal(await store.kv.increment(u, 10), 0)
      assert.equal(await store.kv.get(u), 0)
    }))

    test('increment of an existing number', withStore(async (store, u) => {
      await store.kv.set(u, 40)
      assert.equal(await store.kv.increment(u, 2), 42)
    }))

    test('increment is atomic under concurrency', withStore(async (store, u) => {
      await Promise.all(Array.from({ length: 100 }, () => store.kv.increment(u)))
      assert.equal(await store.kv.get(u), 100)
    }))

    test('concurrent increments each return a distinct new value', withStore(async (store, u) => {
      const results = await Promise.all(Array.from({ length: 50 }, () => store.kv.increment(u)))
      assert.deepEqual([...results].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i + 1))
    }))

    for (const [label, value] of [['a string', 'abc'], ['a numeric string', '5'], ['an object', { n: 1 }], ['a boolean', true], ['an array', [1]]]) {
      test(`increment of ${label} is NVENT_INVALID_ARGUMENT and leaves it unchanged`, withStore(async (store, u) => {
        await store.kv.set(u, value)
        await rejectsCode(() => store.kv.increment(u), 'NVENT_INVALID_ARGUMENT')
        await rejectsCode(() => store.kv.decrement(u, 2), 'NVENT_INVALID_ARGUMENT')
        assertExact(await store.kv.get(u), value)
      }))
    }

    test('exists tells whether a key is present', withStore(async (store, u) => {
      assert.equal(await store.kv.exists(u), false)
      await store.kv.set(u, 0)
      assert.equal(await store.kv.exists(u), true)
      await store.kv.delete(u)
      assert.equal(await store.kv.exists(u), false)
    }))

    test('exists is true for a stored null', withStore(async (store, u) => {
      await store.kv.set(u, null)
      assert.equal(await store.kv.exists(u), true)
      assert.equal(await store.kv.get(u), null)
    }))

    test('expire returns true for an existing key and sets its ttl', withStore(async (store, u) => {
      await store.kv.set(u, 1)
      assert.equal(await store.kv.expire(u, 10), true)
      const left = await store.kv.ttl(u)
      assert.ok(left > 9 && left <= 10, `ttl ${left}`)
    }))

    test('expire returns false for a missing key and creates nothing', withStore(async (store, u) => {
      assert.equal(await store.kv.expire(u, 10), false)
      assert.equal(await store.kv.exists(u), false)
    }))

    test('expire with a fractional ttl makes the key expire', withStore(async (store, u) => {
      await store.kv.set(u, 1)
      assert.equal(await store.kv.expire(u, 0.05), true)
      await waitFor(async () => !(await store.kv.exists(u)), { timeoutMs: 5000, what: 'expiry' })
      assert.equal(await store.kv.get(u), null)
    }))

    test('touch refreshes the ttl of an existing key', withStore(async (store, u) => {
      await store.kv.set(u, 1, 5)
      assert.equal(await store.kv.touch(u, 30), true)
      const left = await store.kv.ttl(u)
      assert.ok(left > 29 && left <= 30, `ttl ${left}`)
      assert.equal(await store.kv.touch(`${u}:missing`, 30), false)
    }))

    test('ttl returns the seconds left, or null for missing keys and keys without expiry', withStore(async (store, u) => {
      assert.equal(await store.kv.ttl(u), null)
      await store.kv.set(u, 1)
      assert.equal(await store.kv.ttl(u), null)
      await store.kv.set(u, 1, 10)
      const left = await store.kv.ttl(u)
      assert.equal(typeof left, 'number')
      assert.ok(left > 9 && left <= 10, `ttl ${left}`)
    }))

    test('mget returns the values in order with null for missing keys', withStore(async (store, u) => {
      await store.kv.set(`${u}:a`, 'A')
      await store.kv.set(`${u}:c`, { c: 0 })
      assert.deepEqual(await store.kv.mget([`${u}:c`, `${u}:b`, `${u}:a`, `${u}:a`]), [{ c: 0 }, null, 'A', 'A'])
      assert.deepEqual(await store.kv.mget([]), [])
    }))

    test('mset sets every entry, each with its own ttl', withStore(async (store, u) => {
      await store.kv.mset([
        { key: `${u}:a`, value: '123' },
        { key: `${u}:b`, value: 0 },
        { key: `${u}:c`, value: { x: [1] }, ttl: 30 },
      ])
      assertExact(await store.kv.mget([`${u}:a`, `${u}:b`, `${u}:c`]), ['123', 0, { x: [1] }])
      assert.equal(await store.kv.ttl(`${u}:a`), null)
      const left = await store.kv.ttl(`${u}:c`)
      assert.ok(left > 29 && left <= 30, `ttl ${left}`)
    }))

    test('an mset entry with a short ttl expires while the others stay', withStore(async (store, u) => {
      await store.kv.mset([
        { key: `${u}:short`, value: 1, ttl: 0.05 },
        { key: `${u}:long`, value: 2 },
      ])
      await waitFor(async () => (await store.kv.get(`${u}:short`)) === null, { timeoutMs: 5000, what: 'expiry' })
      assert.equal(await store.kv.get(`${u}:long`), 2)
    }))

    test('mset with an invalid key sets nothing', withStore(async (store, u) => {
      await rejectsCode(() => store.kv.mset([{ key: `${u}:a`, value: 1 }, { key: '', value: 2 }]), 'NVENT_INVALID_NAME')
      assert.equal(await store.kv.exists(`${u}:a`), false)
    }))

    test('returned values are copies', withStore(async (store, u) => {
      const value = { n: 1, list: [1], deep: { x: 1 } }
      await store.kv.set(u, value)
      value.n = 2
      value.list.push(2)
      const got = await store.kv.get(u)
      assert.deepEqual(got, { n: 1, list: [1], deep: { x: 1 } })
      got.deep.x = 9
      got.list.push(9)
      assert.deepEqual(await store.kv.get(u), { n: 1, list: [1], deep: { x: 1 } })
      const [m] = await store.kv.mget([u])
      m.n = 7
      assert.deepEqual(await store.kv.get(u), { n: 1, list: [1], deep: { x: 1 } })
    }))
  })

  // ---------------------------------------------------------------------------------------
  describe(`${backend.name}: store.index (§3.3)`, () => {
    test('add then get returns { id, score, metadata } with version 0', withStore(async (store, u) => {
      await store.index.add(u, 'e1', 10, { status: 'running', n: 1 })
      assert.deepEqual(await store.index.get(u, 'e1'), { id: 'e1', score: 10, metadata: { status: 'running', n: 1, version: 0 } })
    }))

    test('add without metadata stores { version: 0 }', withStore(async (store, u) => {
      await store.index.add(u, 'e1', 1)
      assert.deepEqual(await store.index.get(u, 'e1'), { id: 'e1', score: 1, metadata: { version: 0 } })
    }))

    test('add with empty metadata stores { version: 0 }', withStore(async (store, u) => {
      await store.index.add(u, 'e1', 1, {})
      assert.deepEqual((await store.index.get(u, 'e1')).metadata, { version: 0 })
    }))

    test('a caller-supplied version is ignored by add', withStore(async (store, u) => {
      await store.index.add(u, 'e1', 1, { version: 7, x: 1 })
      assert.deepEqual((await store.index.get(u, 'e1')).metadata, { x: 1, version: 0 })
    }))

    test('add replaces the metadata completely and resets the version', withStore(async (store, u) => {
      await store.index.add(u, 'e1', 1, { a: 1, nested: { b: 2 } })
      await store.index.update(u, 'e1', { c: 3 })
      await store.index.add(u, 'e1', 2, { d: 4 })
      assert.deepEqual(await store.index.get(u, 'e1'), { id: 'e1', score: 2, metadata: { d: 4, version: 0 } })
      assert.equal(await store.index.count(u), 1, 'add is an upsert')
    }))

    test('dot keys in add expand to nested objects', withStore(async (store, u) => {
      await store.index.add(u, 'e1', 1, { 'stats.total': 0, 'stats.ok': 1, 'a.b.c': 'deep', name: 'n' })
      assert.deepEqual((await store.index.get(u, 'e1')).metadata, {
        stats: { total: 0, ok: 1 },
        a: { b: { c: 'deep' } },
        name: 'n',
        version: 0,
      })
    }))

    test('dot keys merge with nested objects given in the same metadata', withStore(async (store, u) => {
      await store.index.add(u, 'e1', 1, { stats: { a: 1 }, 'stats.b': 2 })
      assert.deepEqual((await store.index.get(u, 'e1')).metadata, { stats: { a: 1, b: 2 }, version: 0 })
    }))

    test('null values are dropped at every level of objects', withStore(async (store, u) => {
      await store.index.add(u, 'e1', 1, { a: null, b: { c: null, d: 1 }, keep: 0 })
      assert.deepEqual((await store.index.get(u, 'e1')).metadata, { b: { d: 1 }, keep: 0, version: 0 })
    }))

    test('null values inside arrays are kept', withStore(async (store, u) => {
      await store.index.add(u, 'e1', 1, { list: [null, 1, null], b: { list: [null] } })
      assert.deepEqual((await store.index.get(u, 'e1')).metadata, { list: [null, 1, null], b: { list: [null] }, version: 0 })
    }))

    test('metadata keeps "123" a string and 0, false, "" as they are', withStore(async (store, u) => {
      await store.index.add(u, 'e1', 1, { s: '123', z: 0, f: false, e: '', t: true, nested: { s: '0' } })
      assertExact(
        Object.fromEntries(Object.entries((await store.index.get(u, 'e1')).metadata).filter(([k]) => k !== 'version')),
        { s: '123', z: 0, f: false, e: '', t: true, nested: { s: '0' } },
      )
    }))

    test('get of a missing id or key returns null', withStore(async (store, u) => {
      assert.equal(await store.index.get(u, 'nope'), null)
      await store.index.add(u, 'e1', 1)
      assert.equal(await store.index.get(u, 'nope'), null)
      assert.equal(await store.index.get(`${u}:other`, 'e1'), null)
    }))

    test('scores are exact doubles', withStore(async (store, u) => {
      const scores = [0, -1.5, 0.1 + 0.2, 1e300, -1e-300, 5e-324, Number.MAX_SAFE_INTEGER, 1700000000123.456, 2 ** 53 + 2]
      for (const [i, s] of scores.entries()) await store.index.add(u, `e${i}`, s)
      for (const [i, s] of scores.entries()) assert.equal((await store.index.get(u, `e${i}`)).score, s, `score ${s}`)
      const read = await store.index.read(u, { limit: 100 })
      assert.deepEqual(read.map((e) => e.score), [...scores].sort((a, b) => b - a))
    }))

    test('a non-finite score is refused', withStore(async (store, u) => {
      for (const s of [NaN, Infinity, -Infinity]) {
        await assert.rejects(store.index.add(u, 'e', s), (e) => e instanceof NventError && ['NVENT_INVALID_ARGUMENT', 'NVENT_NOT_SERIALIZABLE'].includes(e.code))
      }
      assert.equal(await store.index.count(u), 0)
    }))

    test('read orders by score descending', withStore(async (store, u) => {
      await store.index.add(u, 'low', 1)
      await store.index.add(u, 'high', 300)
      await store.index.add(u, 'mid', 20)
      await store.index.add(u, 'neg', -5)
      assert.deepEqual((await store.index.read(u)).map((e) => e.id), ['high', 'mid', 'low', 'neg'])
    }))

    test('equal scores order by id descending in byte order', withStore(async (store, u) => {
      // Byte order differs from UTF-16 order for '😀' (F0...) versus '｡' (EF...).
      const ids = ['a', 'b', 'B', 'aa', 'é', '😀', '｡', '10', '9']
      for (const id of ids) await store.index.add(u, id, 5)
      const expected = [...ids].sort((x, y) => Buffer.compare(Buffer.from(y), Buffer.from(x)))
      assert.deepEqual(expected, ['😀', '｡', 'é', 'b', 'aa', 'a', 'B', '9', '10'])
      assert.deepEqual((await store.index.read(u)).map((e) => e.id), expected)
    }))

    test('read entries have the same shape as get', withStore(async (store, u) => {
      await store.index.add(u, 'e1', 1, { a: { b: [1] } })
      const [entry] = await store.index.read(u)
      assert.deepEqual(entry, await store.index.get(u, 'e1'))
      assert.deepEqual(entry, { id: 'e1', score: 1, metadata: { a: { b: [1] }, version: 0 } })
    }))

    test('read defaults to offset 0 and limit 50', withStore(async (store, u) => {
      for (let i = 0; i < 60; i++) await store.index.add(u, `e${String(i).padStart(2, '0')}`, i)
      const page = await store.index.read(u)
      assert.equal(page.length, 50)
      assert.equal(page[0].id, 'e59')
      assert.equal(page[49].id, 'e10')
      assert.deepEqual((await store.index.read(u, {})).map((e) => e.id), page.map((e) => e.id))
    }))

    test('offset and limit page through the entries', withStore(async (store, u) => {
      for (let i = 0; i < 60; i++) await store.index.add(u, `e${String(i).padStart(2, '0')}`, i)
      assert.deepEqual((await store.index.read(u, { offset: 50 })).map((e) => e.id), Array.from({ length: 10 }, (_, i) => `e0${9 - i}`))
      assert.deepEqual((await store.index.read(u, { offset: 2, limit: 3 })).map((e) => e.id), ['e57', 'e56', 'e55'])
      assert.deepEqual(await store.index.read(u, { offset: 60 }), [])
      assert.equal((await store.index.read(u, { limit: 100 })).length, 60)
    }))

    test('reading a missing key returns []', withStore(async (store, u) => {
      assert.deepEqual(await store.index.read(u), [])
      assert.deepEqual(await store.index.read(u, { filter: { a: 1 } }), [])
    }))

    async function seedFilter(store, key) {
      const rows = [
        ['r0', { status: 'done', stats: { kind: 'x' }, n: 1 }],
        ['r1', { status: 'running', stats: { kind: 'y' }, n: 2 }],
        ['r2', { status: 'done', stats: { kind: 'y' }, n: 1 }],
        ['r3', { status: 'failed', stats: { kind: 'x' }, n: '1' }],
        ['r4', { status: 'done', stats: { kind: 'x' }, n: 3 }],
        ['r5', { other: true }],
      ]
      for (const [i, [id, meta]] of rows.entries()) await store.index.add(key, id, 100 - i, meta)
    }

    test('filter on a top-level field', withStore(async (store, u) => {
      await seedFilter(store, u)
      assert.deepEqual((await store.index.read(u, { filter: { status: 'done' } })).map((e) => e.id), ['r0', 'r2', 'r4'])
    }))

    test('filter on a dotted path', withStore(async (store, u) => {
      await seedFilter(store, u)
      assert.deepEqual((await store.index.read(u, { filter: { 'stats.kind': 'x' } })).map((e) => e.id), ['r0', 'r3', 'r4'])
    }))

    test('filter with an array of values matches any of them', withStore(async (store, u) => {
      await seedFilter(store, u)
      assert.deepEqual((await store.index.read(u, { filter: { status: ['running', 'failed'] } })).map((e) => e.id), ['r1', 'r3'])
    }))

    test('filter fields combine with AND', withStore(async (store, u) => {
      await seedFilter(store, u)
      assert.deepEqual((await store.index.read(u, { filter: { status: 'done', 'stats.kind': 'y' } })).map((e) => e.id), ['r2'])
    }))

    test('filter compares typed values: 1 does not match "1"', withStore(async (store, u) => {
      await seedFilter(store, u)
      assert.deepEqual((await store.index.read(u, { filter: { n: 1 } })).map((e) => e.id), ['r0', 'r2'])
      assert.deepEqual((await store.index.read(u, { filter: { n: '1' } })).map((e) => e.id), ['r3'])
    }))

    test('filter on a missing field matches nothing', withStore(async (store, u) => {
      await seedFilter(store, u)
      assert.deepEqual(await store.index.read(u, { filter: { nothere: 'x' } }), [])
    }))

    test('pagination applies after filtering', withStore(async (store, u) => {
      for (let i = 0; i < 30; i++) await store.index.add(u, `e${String(i).padStart(2, '0')}`, i, { even: i % 2 === 0 })
      const page = await store.index.read(u, { filter: { even: true }, offset: 2, limit: 3 })
      assert.deepEqual(page.map((e) => e.id), ['e24', 'e22', 'e20'])
      const all = await store.index.read(u, { filter: { even: false }, limit: 100 })
      assert.equal(all.length, 15)
    }))

    test('count returns the number of entries, with an optional filter', withStore(async (store, u) => {
      assert.equal(await store.index.count(u), 0)
      await seedFilter(store, u)
      assert.equal(await store.index.count(u), 6)
      assert.equal(await store.index.count(u, {}), 6)
      assert.equal(await store.index.count(u, { filter: { status: 'done' } }), 3)
      assert.equal(await store.index.count(u, { filter: { 'stats.kind': ['x', 'y'] } }), 5)
      assert.equal(await store.index.count(u, { filter: { status: 'nope' } }), 0)
    }))

    test('count is not limited to 50', withStore(async (store, u) => {
      for (let i = 0; i < 70; i++) await store.index.add(u, `e${i}`, i)
      assert.equal(await store.index.count(u), 70)
    }))

    test('update deep-merges at every level and returns true', withStore(async (store, u) => {
      await store.index.add(u, 'e', 1, { a: { x: 1, y: 2, deep: { p: 1, q: 2 } }, b: 1 })
      assert.equal(await store.index.update(u, 'e', { a: { y: 3, z: 4, deep: { q: 9 } } }), true)
      assert.deepEqual((await store.index.get(u, 'e')).metadata, { a: { x: 1, y: 3, z: 4, deep: { p: 1, q: 9 } }, b: 1, version: 1 })
    }))

    test('update replaces arrays', withStore(async (store, u) => {
      await store.index.add(u, 'e', 1, { tags: [1, 2, 3], o: { list: ['a', 'b'] } })
      await store.index.update(u, 'e', { tags: [9], o: { list: [] } })
      assert.deepEqual((await store.index.get(u, 'e')).metadata, { tags: [9], o: { list: [] }, version: 1 })
    }))

    test('update with null deletes that subtree', withStore(async (store, u) => {
      await store.index.add(u, 'e', 1, { a: { x: 1, y: { deep: 1 } }, b: 1, c: { d: 1 } })
      await store.index.update(u, 'e', { a: { y: null }, b: null })
      assert.deepEqual((await store.index.get(u, 'e')).metadata, { a: { x: 1 }, c: { d: 1 }, version: 1 })
      await store.index.update(u, 'e', { c: null })
      assert.deepEqual((await store.index.get(u, 'e')).metadata, { a: { x: 1 }, version: 2 })
    }))

    test('update with a dotted null key deletes that path', withStore(async (store, u) => {
      await store.index.add(u, 'e', 1, { a: { x: 1, y: 2 } })
      await store.index.update(u, 'e', { 'a.x': null })
      assert.deepEqual((await store.index.get(u, 'e')).metadata, { a: { y: 2 }, version: 1 })
    }))

    test('update dot keys are paths: { "stats.totalFires": 5 } equals { stats: { totalFires: 5 } }', withStore(async (store, u) => {
      await store.index.add(u, 'a', 1, { stats: { totalFires: 0, other: 1 }, enabled: true })
      await store.index.add(u, 'b', 1, { stats: { totalFires: 0, other: 1 }, enabled: true })
      await store.index.update(u, 'a', { 'stats.totalFires': 5 })
      await store.index.update(u, 'b', { stats: { totalFires: 5 } })
      const a = (await store.index.get(u, 'a')).metadata
      const b = (await store.index.get(u, 'b')).metadata
      assert.deepEqual(a, { stats: { totalFires: 5, other: 1 }, enabled: true, version: 1 })
      assert.deepEqual(a, b)
    }))

    test('update replaces a scalar by an object and an object by a scalar', withStore(async (store, u) => {
      await store.index.add(u, 'e', 1, { a: 1, b: { c: 1 } })
      await store.index.update(u, 'e', { a: { nested: true }, b: 'flat' })
      assert.deepEqual((await store.index.get(u, 'e')).metadata, { a: { nested: true }, b: 'flat', version: 1 })
    }))

    test('update increments the version by 1 each time and ignores a caller version', withStore(async (store, u) => {
      await store.index.add(u, 'e', 1, { n: 0 })
      for (let i = 1; i <= 3; i++) {
        await store.index.update(u, 'e', { n: i })
        assert.equal((await store.index.get(u, 'e')).metadata.version, i)
      }
      await store.index.update(u, 'e', { version: 99, m: 1 })
      assert.deepEqual((await store.index.get(u, 'e')).metadata, { n: 3, m: 1, version: 4 })
    }))

    test('update keeps the score', withStore(async (store, u) => {
      await store.index.add(u, 'e', 12.5, { a: 1 })
      await store.index.update(u, 'e', { a: 2 })
      assert.equal((await store.index.get(u, 'e')).score, 12.5)
    }))

    test('update of a missing entry returns false and creates nothing', withStore(async (store, u) => {
      assert.equal(await store.index.update(u, 'missing', { a: 1 }), false)
      assert.equal(await store.index.get(u, 'missing'), null)
      await store.index.add(u, 'other', 1)
      assert.equal(await store.index.update(u, 'missing', { a: 1 }), false)
      assert.equal(await store.index.get(u, 'missing'), null)
      assert.equal(await store.index.count(u), 1)
    }))

    test('update with a matching expectedVersion succeeds', withStore(async (store, u) => {
      await store.index.add(u, 'e', 1, { x: 0 })
      assert.equal(await store.index.update(u, 'e', { x: 1 }, { expectedVersion: 0 }), true)
      assert.equal(await store.index.update(u, 'e', { x: 2 }, { expectedVersion: 1 }), true)
      assert.deepEqual((await store.index.get(u, 'e')).metadata, { x: 2, version: 2 })
    }))

    test('update with a stale expectedVersion returns false and changes nothing', withStore(async (store, u) => {
      await store.index.add(u, 'e', 1, { x: 0 })
      await store.index.update(u, 'e', { x: 1 })
      assert.equal(await store.index.update(u, 'e', { x: 2, y: 1 }, { expectedVersion: 0 }), false)
      assert.equal(await store.index.update(u, 'e', { x: 2 }, { expectedVersion: 5 }), false)
      assert.deepEqual((await store.index.get(u, 'e')).metadata, { x: 1, version: 1 })
    }))

    test('of concurrent updates with the same expectedVersion exactly one wins', withStore(async (store, u) => {
      await store.index.add(u, 'e', 1, {})
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => store.index.update(u, 'e', { [`f${i}`]: i }, { expectedVersion: 0 })))
      assert.equal(results.filter(Boolean).length, 1)
      const meta = (await store.index.get(u, 'e')).metadata
      assert.equal(meta.version, 1)
      assert.equal(Object.keys(meta).length, 2)
    }))

    test('updateWithRetry merges and resolves', withStore(async (store, u) => {
      await store.index.add(u, 'e', 1, { stats: { totalFires: 0, ok: 1 } })
      await store.index.updateWithRetry(u, 'e', { 'stats.totalFires': 5 })
      assert.deepEqual((await store.index.get(u, 'e')).metadata, { stats: { totalFires: 5, ok: 1 }, version: 1 })
      await store.index.updateWithRetry(u, 'e', { enabled: false }, 5)
      assert.deepEqual((await store.index.get(u, 'e')).metadata, { stats: { totalFires: 5, ok: 1 }, enabled: false, version: 2 })
    }))

    test('50 concurrent updateWithRetry callers lose no field', withStore(async (store, u) => {
      await store.index.add(u, 'e', 1, { base: true })
      await Promise.all(Array.from({ length: 50 }, (_, i) => store.index.updateWithRetry(u, 'e', { [`f${i}`]: i })))
      const meta = (await store.index.get(u, 'e')).metadata
      for (let i = 0; i < 50; i++) assert.equal(meta[`f${i}`], i, `field f${i}`)
      assert.equal(meta.base, true)
      assert.equal(meta.version, 50)
    }))

    test('50 concurrent updateWithRetry callers on nested dot paths lose no field', withStore(async (store, u) => {
      await store.index.add(u, 'e', 1, { nested: { keep: 1 } })
      await Promise.all(Array.from({ length: 50 }, (_, i) => store.index.updateWithRetry(u, 'e', { [`nested.f${i}`]: i })))
      const meta = (await store.index.get(u, 'e')).metadata
      assert.equal(Object.keys(meta.nested).length, 51)
      for (let i = 0; i < 50; i++) assert.equal(meta.nested[`f${i}`], i)
    }))

    test('concurrent updateWithRetry and increment callers lose nothing', withStore(async (store, u) => {
      await store.index.add(u, 'e', 1, { count: 0 })
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          i % 2 ? store.index.increment(u, 'e', 'count') : store.index.updateWithRetry(u, 'e', { [`f${i}`]: true }),
        ),
      )
      const meta = (await store.index.get(u, 'e')).metadata
      assert.equal(meta.count, 25)
      for (let i = 0; i < 50; i += 2) assert.equal(meta[`f${i}`], true)
      assert.equal(meta.version, 50)
    }))

    test('updateWithRetry of a missing entry rejects with NVENT_NOT_FOUND and creates nothing', withStore(async (store, u) => {
      await rejectsCode(() => store.index.updateWithRetry(u, 'missing', { a: 1 }), 'NVENT_NOT_FOUND')
      assert.equal(await store.index.get(u, 'missing'), null)
      assert.equal(await store.index.count(u), 0)
    }))

    test('increment a dot path returns the new value and stores it', withStore(async (store, u) => {
      await store.index.add(u, 'e', 1, { stats: { total: 1 } })
      assert.equal(await store.index.increment(u, 'e', 'stats.total'), 2)
      assert.equal(await store.index.increment(u, 'e', 'stats.total', 3), 5)
      assert.equal(await store.index.increment(u, 'e', 'stats.total', -6), -1)
      assert.deepEqual((await store.index.get(u, 'e')).metadata, { stats: { total: -1 }, version: 3 })
    }))

    test('increment of a top-level field', withStore(async (store, u) => {
      await store.index.add(u, 'e', 1, { n: 10 })
      assert.equal(await store.index.increment(u, 'e', 'n', 5), 15)
      assert.equal((await store.index.get(u, 'e')).metadata.n, 15)
    }))

    test('increment of a missing field starts at 0', withStore(async (store, u) => {
      await store.index.add(u, 'e', 1, { other: 1 })
      assert.equal(await store.index.increment(u, 'e', 'stats.fires', 2), 2)
      assert.equal(await store.index.increment(u, 'e', 'top'), 1)
      assert.deepEqual((await store.index.get(u, 'e')).metadata, { other: 1, stats: { fires: 2 }, top: 1, version: 2 })
    }))

    test('increment handles fractions', withStore(async (store, u) => {
      await store.index.add(u, 'e', 1, { x: 0.5 })
      assert.equal(await store.index.increment(u, 'e', 'x', 0.25), 0.75)
      assert.equal(await store.index.increment(u, 'e', 'x', 1.5), 2.25)
      assert.equal((await store.index.get(u, 'e')).metadata.x, 2.25)
    }))

    test('increment bumps the version', withStore(async (store, u) => {
      await store.index.add(u, 'e', 1, { n: 0 })
      await store.index.increment(u, 'e', 'n')
      assert.equal((await store.index.get(u, 'e')).metadata.version, 1)
      await store.index.increment(u, 'e', 'n')
      assert.equal((await store.index.get(u, 'e')).metadata.version, 2)
    }))

    test('increment is atomic under concurrency', withStore(async (store, u) => {
      await store.index.add(u, 'e', 1, { stats: { n: 0 } })
      const results = await Promise.all(Array.from({ length: 50 }, () => store.index.increment(u, 'e', 'stats.n')))
      assert.deepEqual([...results].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i + 1))
      assert.deepEqual((await store.index.get(u, 'e')).metadata, { stats: { n: 50 }, version: 50 })
    }))

    test('increment of a missing entry rejects with NVENT_NOT_FOUND and creates no orphan', withStore(async (store, u) => {
      await rejectsCode(() => store.index.increment(u, 'missing', 'n'), 'NVENT_NOT_FOUND')
      assert.equal(await store.index.get(u, 'missing'), null)
      assert.equal(await store.index.count(u), 0)
      assert.deepEqual(await store.index.read(u), [])
    }))

    for (const [label, value] of [['a string', 'abc'], ['a numeric string', '5'], ['an object', { a: 1 }], ['a boolean', true], ['an array', [1]]]) {
      test(`increment of ${label} is NVENT_INVALID_ARGUMENT and changes nothing`, withStore(async (store, u) => {
        await store.index.add(u, 'e', 1, { f: value })
        await rejectsCode(() => store.index.increment(u, 'e', 'f'), 'NVENT_INVALID_ARGUMENT')
        assert.deepEqual((await store.index.get(u, 'e')).metadata, { f: value, version: 0 })
      }))
    }

    test('delete returns true when the entry existed and removes it', withStore(async (store, u) => {
      await store.index.add(u, 'a', 1, { x: 1 })
      await store.index.add(u, 'b', 2)
      assert.equal(await store.index.delete(u, 'a'), true)
      assert.equal(await store.index.get(u, 'a'), null)
      assert.deepEqual((await store.index.read(u)).map((e) => e.id), ['b'])
      assert.equal(await store.index.count(u), 1)
    }))

    test('delete returns false for a missing entry', withStore(async (store, u) => {
      assert.equal(await store.index.delete(u, 'a'), false)
      await store.index.add(u, 'a', 1)
      assert.equal(await store.index.delete(u, 'a'), true)
      assert.equal(await store.index.delete(u, 'a'), false)
    }))

    test('an entry added again after delete starts fresh', withStore(async (store, u) => {
      await store.index.add(u, 'a', 1, { old: true })
      await store.index.update(u, 'a', { more: 1 })
      await store.index.delete(u, 'a')
      await store.index.add(u, 'a', 2, { fresh: true })
      assert.deepEqual(await store.index.get(u, 'a'), { id: 'a', score: 2, metadata: { fresh: true, version: 0 } })
    }))

    test('returned entries are copies', withStore(async (store, u) => {
      await store.index.add(u, 'e', 1, { n: 1, nested: { list: [1] } })
      const got = await store.index.get(u, 'e')
      got.metadata.n = 2
      got.metadata.nested.list.push(2)
      got.score = 99
      const [read] = await store.index.read(u)
      assert.deepEqual(read, { id: 'e', score: 1, metadata: { n: 1, nested: { list: [1] }, version: 0 } })
      read.metadata.nested.list = []
      assert.deepEqual((await store.index.get(u, 'e')).metadata, { n: 1, nested: { list: [1] }, version: 0 })
    }))

    test('mutating the metadata given to add afterwards changes nothing', withStore(async (store, u) => {
      const meta = { n: 1, nested: { list: [1] } }
      await store.index.add(u, 'e', 1, meta)
      meta.n = 2
      meta.nested.list.push(2)
      assert.deepEqual((await store.index.get(u, 'e')).metadata, { n: 1, nested: { list: [1] }, version: 0 })
    }))

    test('indexes under different keys are independent', withStore(async (store, u) => {
      await store.index.add(`${u}:a`, 'e', 1, { from: 'a' })
      await store.index.add(`${u}:b`, 'e', 2, { from: 'b' })
      assert.equal((await store.index.get(`${u}:a`, 'e')).metadata.from, 'a')
      assert.equal((await store.index.get(`${u}:b`, 'e')).metadata.from, 'b')
      await store.index.delete(`${u}:a`, 'e')
      assert.equal(await store.index.count(`${u}:b`), 1)
    }))
  })

  // ---------------------------------------------------------------------------------------
  describe(`${backend.name}: store compatibility surfaces (§3.4)`, () => {
    test('top-level append is stream.append', withStore(async (store, u) => {
      const rec = await store.append(u, { type: 't', runId: 'r', flowName: 'f', data: { x: '1' } })
      idParts(rec.id)
      assert.deepEqual(await store.stream.read(u), [rec])
    }))

    test('top-level read is stream.read, with the same options', withStore(async (store, u) => {
      const a = await store.stream.append(u, { type: 'a' })
      const b = await store.stream.append(u, { type: 'b' })
      assert.deepEqual(await store.read(u), [a, b])
      assert.deepEqual(await store.read(u, { order: 'desc' }), [b, a])
      assert.deepEqual(await store.read(u, { fromId: a.id, limit: 1 }), [b])
      assert.deepEqual(await store.read(u, { direction: 'backward', limit: 1 }), [b])
      assert.deepEqual(await store.read(`${u}:missing`), [])
    }))

    test('top-level subscribe is stream.subscribe', withStore(async (store, u) => {
      const got = collector()
      const handle = await store.subscribe(u, got.push)
      const rec = await store.stream.append(u, { type: 't' })
      const rec2 = await store.append(u, { type: 't2' })
      await got.until(2)
      assert.deepEqual(got.items, [rec, rec2])
      await handle.unsubscribe()
      await store.append(u, { type: 'after' })
      await settle()
      assert.equal(got.items.length, 2)
    }))

    test('save then get returns exactly the saved document', withStore(async (store, u) => {
      const doc = { steps: { a: { name: 'a', handler: 'h' } }, connections: [{ from: 'a', to: 'b' }], version: 1, updatedAt: 1700000000000, s: '123', z: 0, f: false, e: '' }
      await store.save(u, 'flow-1', doc)
      assertExact(await store.get(u, 'flow-1'), doc)
    }))

    test('a document keeps nulls and its own version field untouched', withStore(async (store, u) => {
      const doc = { a: null, nested: { b: null }, version: 7, list: [null] }
      await store.save(u, 'd', doc)
      assertExact(await store.get(u, 'd'), doc)
    }))

    test('get of a missing document returns null', withStore(async (store, u) => {
      assert.equal(await store.get(u, 'missing'), null)
      await store.save(u, 'x', { a: 1 })
      assert.equal(await store.get(u, 'missing'), null)
    }))

    test('save replaces the whole document', withStore(async (store, u) => {
      await store.save(u, 'd', { a: 1, b: 2 })
      await store.save(u, 'd', { c: 3 })
      assertExact(await store.get(u, 'd'), { c: 3 })
      assert.equal((await store.list(u)).length, 1)
    }))

    test('collections are independent', withStore(async (store, u) => {
      await store.save(`${u}:a`, 'd', { from: 'a' })
      await store.save(`${u}:b`, 'd', { from: 'b' })
      assert.deepEqual(await store.get(`${u}:a`, 'd'), { from: 'a' })
      assert.deepEqual(await store.get(`${u}:b`, 'd'), { from: 'b' })
      assert.deepEqual(await store.list(`${u}:a`), [{ id: 'd', doc: { from: 'a' } }])
    }))

    test('list returns [{ id, doc }] ordered by id ascending by default', withStore(async (store, u) => {
      for (const id of ['b', 'a', '10', '9', 'B']) await store.save(u, id, { id })
      const list = await store.list(u)
      assert.deepEqual(list.map((e) => e.id), ['10', '9', 'B', 'a', 'b'])
      assert.deepEqual(list[0], { id: '10', doc: { id: '10' } })
    }))

    test('list of an empty collection returns []', withStore(async (store, u) => {
      assert.deepEqual(await store.list(u), [])
      assert.deepEqual(await store.list(u, { filter: { a: 1 }, sortBy: 'a', limit: 3 }), [])
    }))

    test('list returns the documents exactly', withStore(async (store, u) => {
      const doc = { zeta: '1', alpha: [0, false, ''], n: null }
      await store.save(u, 'd', doc)
      const [entry] = await store.list(u)
      assertExact(entry.doc, doc)
    }))

    async function seedDocs(store, c) {
      const docs = {
        d1: { status: 'done', n: 2, meta: { kind: 'x', rank: 3 } },
        d2: { status: 'running', n: 10, meta: { kind: 'y', rank: 1 } },
        d3: { status: 'done', n: 1, meta: { kind: 'y', rank: 2 } },
        d4: { status: 'failed', n: 5, meta: { kind: 'x', rank: 5 } },
      }
      for (const [id, doc] of Object.entries(docs)) await store.save(c, id, doc)
      return docs
    }

    test('list filters on top-level fields, dotted paths and arrays of values', withStore(async (store, u) => {
      await seedDocs(store, u)
      assert.deepEqual((await store.list(u, { filter: { status: 'done' } })).map((e) => e.id), ['d1', 'd3'])
      assert.deepEqual((await store.list(u, { filter: { 'meta.kind': 'x' } })).map((e) => e.id), ['d1', 'd4'])
      assert.deepEqual((await store.list(u, { filter: { status: ['running', 'failed'] } })).map((e) => e.id), ['d2', 'd4'])
      assert.deepEqual((await store.list(u, { filter: { status: 'done', 'meta.kind': 'y' } })).map((e) => e.id), ['d3'])
    }))

    test('list limit and offset', withStore(async (store, u) => {
      await seedDocs(store, u)
      assert.deepEqual((await store.list(u, { limit: 2 })).map((e) => e.id), ['d1', 'd2'])
      assert.deepEqual((await store.list(u, { offset: 1, limit: 2 })).map((e) => e.id), ['d2', 'd3'])
      assert.deepEqual((await store.list(u, { offset: 3 })).map((e) => e.id), ['d4'])
      assert.deepEqual(await store.list(u, { offset: 10 }), [])
    }))

    test('list paginates after filtering', withStore(async (store, u) => {
      await seedDocs(store, u)
      assert.deepEqual((await store.list(u, { filter: { status: 'done' }, offset: 1, limit: 1 })).map((e) => e.id), ['d3'])
    }))

    test('list sortBy a field sorts ascending by default, numbers numerically', withStore(async (store, u) => {
      await seedDocs(store, u)
      assert.deepEqual((await store.list(u, { sortBy: 'n' })).map((e) => e.id), ['d3', 'd1', 'd4', 'd2'])
    }))

    test('list sortBy with sortOrder "desc"', withStore(async (store, u) => {
      await seedDocs(store, u)
      assert.deepEqual((await store.list(u, { sortBy: 'n', sortOrder: 'desc' })).map((e) => e.id), ['d2', 'd4', 'd1', 'd3'])
      assert.deepEqual((await store.list(u, { sortBy: 'n', sortOrder: 'asc' })).map((e) => e.id), ['d3', 'd1', 'd4', 'd2'])
    }))

    test('list accepts order as an alias of sortOrder', withStore(async (store, u) => {
      await seedDocs(store, u)
      assert.deepEqual((await store.list(u, { sortBy: 'n', order: 'desc' })).map((e) => e.id), ['d2', 'd4', 'd1', 'd3'])
    }))

    test('list sortBy a dotted path', withStore(async (store, u) => {
      await seedDocs(store, u)
      assert.deepEqual((await store.list(u, { sortBy: 'meta.rank' })).map((e) => e.id), ['d2', 'd3', 'd1', 'd4'])
    }))

    test('list sorts before paginating', withStore(async (store, u) => {
      await seedDocs(store, u)
      assert.deepEqual((await store.list(u, { sortBy: 'n', sortOrder: 'desc', offset: 1, limit: 2 })).map((e) => e.id), ['d4', 'd1'])
    }))

    test('list with order "desc" and no sortBy orders by id descending', withStore(async (store, u) => {
      await seedDocs(store, u)
      assert.deepEqual((await store.list(u, { order: 'desc' })).map((e) => e.id), ['d4', 'd3', 'd2', 'd1'])
    }))

    test('delete returns true when the document existed', withStore(async (store, u) => {
      await store.save(u, 'a', { x: 1 })
      await store.save(u, 'b', { x: 2 })
      assert.equal(await store.delete(u, 'a'), true)
      assert.equal(await store.get(u, 'a'), null)
      assert.deepEqual(await store.list(u), [{ id: 'b', doc: { x: 2 } }])
    }))

    test('delete returns false for a missing document', withStore(async (store, u) => {
      assert.equal(await store.delete(u, 'nope'), false)
      await store.save(u, 'a', {})
      await store.delete(u, 'a')
      assert.equal(await store.delete(u, 'a'), false)
    }))

    test('returned documents are copies', withStore(async (store, u) => {
      const doc = { n: 1, list: [1] }
      await store.save(u, 'd', doc)
      doc.n = 2
      const got = await store.get(u, 'd')
      assert.deepEqual(got, { n: 1, list: [1] })
      got.list.push(2)
      const [entry] = await store.list(u)
      assert.deepEqual(entry.doc, { n: 1, list: [1] })
      entry.doc.n = 5
      assert.deepEqual(await store.get(u, 'd'), { n: 1, list: [1] })
    }))
  })

  // ---------------------------------------------------------------------------------------
  describe(`${backend.name}: store.claim (§3.5)`, () => {
    test('once acquires a free claim and refuses another owner', withStore(async (store, u) => {
      assert.equal(await store.claim.once(u, 'a', 30), true)
      assert.equal(await store.claim.once(u, 'b', 30), false)
    }))

    test('exactly one of many concurrent owners acquires', withStore(async (store, u) => {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.claim.once(u, `owner-${i}`, 30)))
      assert.equal(results.filter(Boolean).length, 1)
    }))

    test('claim ttl is in seconds', withStore(async (store, u) => {
      assert.equal(await store.claim.once(u, 'a', 2), true)
      await settle(100)
      assert.equal(await store.claim.once(u, 'b', 2), false, 'a 2 s claim still holds after 100 ms')
    }))

    test('after the ttl expires another owner can acquire', withStore(async (store, u) => {
      assert.equal(await store.claim.once(u, 'a', 0.05), true)
      await waitFor(() => store.claim.once(u, 'b', 30), { timeoutMs: 5000, what: 'the claim to expire' })
      assert.equal(await store.claim.once(u, 'a', 30), false, 'b holds it now')
    }))

    test('release by the owner frees the claim', withStore(async (store, u) => {
      await store.claim.once(u, 'a', 30)
      assert.equal(await store.claim.release(u, 'a'), true)
      assert.equal(await store.claim.once(u, 'b', 30), true)
    }))

    test('release by another owner returns false and keeps the claim', withStore(async (store, u) => {
      await store.claim.once(u, 'a', 30)
      assert.equal(await store.claim.release(u, 'b'), false)
      assert.equal(await store.claim.once(u, 'b', 30), false)
      assert.equal(await store.claim.release(u, 'a'), true)
    }))

    test('release of a free claim returns false', withStore(async (store, u) => {
      assert.equal(await store.claim.release(u, 'a'), false)
      await store.claim.once(u, 'a', 30)
      await store.claim.release(u, 'a')
      assert.equal(await store.claim.release(u, 'a'), false)
    }))

    test('extend by the owner returns true; by another owner or on a free claim false', withStore(async (store, u) => {
      assert.equal(await store.claim.extend(u, 'a', 30), false)
      await store.claim.once(u, 'a', 30)
      assert.equal(await store.claim.extend(u, 'a', 30), true)
      assert.equal(await store.claim.extend(u, 'b', 30), false)
    }))

    test('extend keeps the claim beyond its first ttl', withStore(async (store, u) => {
      const t0 = Date.now()
      assert.equal(await store.claim.once(u, 'a', 1), true)
      assert.equal(await store.claim.extend(u, 'a', 30), true)
      await untilAfter(t0, 1300)
      assert.equal(await store.claim.once(u, 'b', 30), false, 'the extended claim still holds')
      assert.equal(await store.claim.release(u, 'a'), true)
    }))

    test('extend of an expired claim returns false', withStore(async (store, u) => {
      assert.equal(await store.claim.once(u, 'a', 0.05), true)
      // A probe owner acquiring the claim proves it expired (without extending it).
      await waitFor(() => store.claim.once(u, 'probe', 30), { timeoutMs: 5000, what: 'the claim to expire' })
      assert.equal(await store.claim.extend(u, 'a', 30), false)
      assert.equal(await store.claim.release(u, 'a'), false)
    }))

    test('claims under different keys are independent', withStore(async (store, u) => {
      assert.equal(await store.claim.once(`${u}:1`, 'a', 30), true)
      assert.equal(await store.claim.once(`${u}:2`, 'b', 30), true)
    }))
  })

  // ---------------------------------------------------------------------------------------
  describe(`${backend.name}: store.scope (§3.5)`, () => {
    test('scope is synchronous and returns a view with the same API', withStore(async (store, u) => {
      const s = store.scope('tenant', u)
      assert.ok(s && typeof s === 'object')
      assert.notEqual(typeof s.then, 'function', 'scope() does not return a Promise')
      for (const m of ['get', 'set', 'delete', 'clear', 'increment', 'decrement', 'exists', 'expire', 'touch', 'ttl', 'mget', 'mset']) {
        assert.equal(typeof s.kv[m], 'function', `kv.${m}`)
      }
      for (const m of ['append', 'read', 'subscribe', 'delete', 'count']) assert.equal(typeof s.stream[m], 'function', `stream.${m}`)
      for (const m of ['add', 'get', 'read', 'count', 'update', 'updateWithRetry', 'increment', 'delete']) {
        assert.equal(typeof s.index[m], 'function', `index.${m}`)
      }
      for (const m of ['append', 'read', 'subscribe', 'save', 'get', 'list', 'delete', 'scope']) assert.equal(typeof s[m], 'function', m)
      for (const m of ['once', 'release', 'extend']) assert.equal(typeof s.claim[m], 'function', `claim.${m}`)
    }))

    test('the same scope twice sees the same data', withStore(async (store, u) => {
      await store.scope('tenant', u).kv.set('k', 'v')
      assert.equal(await store.scope('tenant', u).kv.get('k'), 'v')
    }))

    test('the same key in two scopes and at the root is independent', withStore(async (store, u) => {
      const a = store.scope('tenant', `${u}-a`)
      const b = store.scope('tenant', `${u}-b`)
      await a.kv.set(`${u}:k`, 'a')
      await b.kv.set(`${u}:k`, 'b')
      assert.equal(await a.kv.get(`${u}:k`), 'a')
      assert.equal(await b.kv.get(`${u}:k`), 'b')
      assert.equal(await store.kv.get(`${u}:k`), null)
      await store.kv.set(`${u}:k`, 'root')
      assert.equal(await a.kv.get(`${u}:k`), 'a')
      await a.kv.delete(`${u}:k`)
      assert.equal(await b.kv.get(`${u}:k`), 'b')
      assert.equal(await store.kv.get(`${u}:k`), 'root')
    }))

    test('scope name and id are separate: crafted names with ":" cannot collide', withStore(async (store, u) => {
      const views = [
        store.scope(`${u}:a:b`, 'c'),
        store.scope(`${u}:a`, 'b:c'),
        store.scope(`${u}:a`, 'b').scope('c', 'x'),
        store.scope(`${u}:a`, 'b:c:x'),
        store.scope(`${u}:a:b:c`, 'x'),
      ]
      for (const [i, v] of views.entries()) await v.kv.set('k', i)
      for (const [i, v] of views.entries()) assert.equal(await v.kv.get('k'), i, `view ${i}`)
    }))

    test('a crafted scoped key cannot reach root data', withStore(async (store, u) => {
      await store.kv.set(`${u}:root`, 'root')
      const s = store.scope('t', u)
      for (const guess of [`${u}:root`, `../${u}:root`, `:${u}:root`]) assert.equal(await s.kv.get(guess), null)
      assert.equal(await s.kv.clear(`${u}*`), 0)
      assert.equal(await store.kv.get(`${u}:root`), 'root')
    }))

    test('scopes nest and nested scopes are independent', withStore(async (store, u) => {
      const org = store.scope('org', u)
      const ws1 = org.scope('ws', '1')
      const ws2 = org.scope('ws', '2')
      await org.kv.set('k', 'org')
      await ws1.kv.set('k', 'ws1')
      await ws2.kv.set('k', 'ws2')
      assert.equal(await org.kv.get('k'), 'org')
      assert.equal(await ws1.kv.get('k'), 'ws1')
      assert.equal(await ws2.kv.get('k'), 'ws2')
      assert.equal(await store.scope('org', u).scope('ws', '1').kv.get('k'), 'ws1')
      assert.equal(await store.scope('ws', '1').kv.get('k'), null, 'the nesting is part of the identity')
    }))

    test('clear inside a scope deletes only that scope\'s keys', withStore(async (store, u) => {
      const a = store.scope('t', `${u}-a`)
      const b = store.scope('t', `${u}-b`)
      await a.kv.set(`${u}:1`, 1)
      await a.kv.set(`${u}:2`, 1)
      await b.kv.set(`${u}:1`, 1)
      await store.kv.set(`${u}:1`, 1)
      assert.equal(await a.kv.clear(`${u}:*`), 2)
      assert.equal(await b.kv.get(`${u}:1`), 1)
      assert.equal(await store.kv.get(`${u}:1`), 1)
    }))

    test('kv extras work inside a scope and stay isolated', withStore(async (store, u) => {
      const a = store.scope('t', `${u}-a`)
      const b = store.scope('t', `${u}-b`)
      assert.equal(await a.kv.increment('n', 2), 2)
      assert.equal(await b.kv.increment('n'), 1)
      await a.kv.mset([{ key: 'x', value: 'ax' }, { key: 'y', value: 'ay', ttl: 30 }])
      assert.deepEqual(await a.kv.mget(['x', 'y', 'n']), ['ax', 'ay', 2])
      assert.deepEqual(await b.kv.mget(['x', 'y']), [null, null])
      assert.equal(await a.kv.exists('x'), true)
      assert.equal(await b.kv.exists('x'), false)
      assert.ok((await a.kv.ttl('y')) > 29)
    }))

    test('event streams inside scopes are isolated, including subscriptions', withStore(async (store, u) => {
      const a = store.scope('t', `${u}-a`)
      const b = store.scope('t', `${u}-b`)
      const gotA = collector()
      const gotRoot = collector()
      const ha = await a.stream.subscribe('events', gotA.push)
      const hr = await store.stream.subscribe('events', gotRoot.push)
      await b.stream.append('events', { type: 'b' })
      const rec = await a.stream.append('events', { type: 'a' })
      await gotA.until(1)
      await settle()
      assert.deepEqual(gotA.items, [rec])
      assert.deepEqual(gotRoot.items, [])
      assert.deepEqual(await a.stream.read('events'), [rec])
      assert.equal(await b.stream.count('events'), 1)
      assert.deepEqual(await a.read('events'), [rec])
      await ha.unsubscribe()
      await hr.unsubscribe()
    }))

    test('indexes inside scopes are isolated', withStore(async (store, u) => {
      const a = store.scope('t', `${u}-a`)
      const b = store.scope('t', `${u}-b`)
      await a.index.add('runs', 'r1', 1, { from: 'a' })
      await b.index.add('runs', 'r1', 2, { from: 'b' })
      assert.equal((await a.index.get('runs', 'r1')).metadata.from, 'a')
      assert.equal(await a.index.increment('runs', 'r1', 'n'), 1)
      assert.equal((await b.index.get('runs', 'r1')).metadata.n, undefined)
      assert.equal(await a.index.count('runs'), 1)
      assert.equal(await store.index.get('runs', 'r1'), null)
    }))

    test('documents and claims inside scopes are isolated', withStore(async (store, u) => {
      const a = store.scope('t', `${u}-a`)
      const b = store.scope('t', `${u}-b`)
      await a.save('flows', 'f', { from: 'a' })
      assert.equal(await b.get('flows', 'f'), null)
      assert.deepEqual(await a.list('flows'), [{ id: 'f', doc: { from: 'a' } }])
      assert.deepEqual(await b.list('flows'), [])
      assert.equal(await a.claim.once('lock', 'o1', 30), true)
      assert.equal(await b.claim.once('lock', 'o2', 30), true)
      assert.equal(await a.claim.once('lock', 'o2', 30), false)
    }))

    test('names inside a scope are still validated', withStore(async (store, u) => {
      await rejectsCode(() => store.scope('t', u).kv.get(''), 'NVENT_INVALID_NAME')
      await rejectsCode(() => store.scope('t', u).kv.set('a\u0000b', 1), 'NVENT_INVALID_NAME')
    }))
  })

  // ---------------------------------------------------------------------------------------
  // Issue 14, item 15: the same answer on every backend, the right code.
  describe(`${backend.name}: store argument checks`, () => {
    test('kv.clear with a malformed glob (a trailing backslash) is NVENT_INVALID_ARGUMENT on every backend', withStore(async (store, u) => {
      await store.kv.set(`${u}abc\\`, 1)
      await rejectsCode(() => store.kv.clear(`${u}abc\\`), 'NVENT_INVALID_ARGUMENT')
      assert.equal(await store.kv.get(`${u}abc\\`), 1, 'nothing was deleted')
      assert.equal(await store.kv.clear(`${u}abc\\\\`), 1, 'an escaped backslash matches one')
    }))

    for (const mode of ['json', 'strict']) {
      test(`an event type that is a symbol, a Map, a Date or a function is NVENT_INVALID_ARGUMENT (values: '${mode}')`, withStore(async (store, u) => {
        for (const type of [Symbol('t'), new Map(), new Date(0), () => 't', { a: 1 }]) {
          await rejectsCode(() => store.stream.append(u, { type, data: 1 }), 'NVENT_INVALID_ARGUMENT')
        }
        assert.equal(await store.stream.count(u), 0)
      }, { values: mode }))
    }

    test("an own '__proto__' field at the top of an event or of read options is refused by name", withStore(async (store, u) => {
      const event = JSON.parse('{"type":"t","__proto__":{"polluted":"yes"}}')
      await rejectsCode(() => store.stream.append(u, event), 'NVENT_INVALID_ARGUMENT', (e) => assert.match(e.message, /__proto__/))
      assert.equal(await store.stream.count(u), 0)
      const options = JSON.parse('{"limit":1,"__proto__":{"limit":5}}')
      await rejectsCode(() => store.stream.read(u, options), 'NVENT_INVALID_ARGUMENT', (e) => assert.match(e.message, /__proto__/))
      await rejectsCode(() => store.index.read(u, options), 'NVENT_INVALID_ARGUMENT', (e) => assert.match(e.message, /__proto__/))
      assertNotPolluted()
    }))
  })

  // ---------------------------------------------------------------------------------------
  // SPEC §2: durations are finite, non-negative (claim ttls positive) and at most 10 years;
  // counts are integers within documented maxima. Refusals change nothing stored.
  describe(`${backend.name}: store durations and counts (§2)`, () => {
    const TEN_YEARS_S = 315_576_000
    const named = (what) => (e) => assert.ok(e.message.includes(what), e.message)

    test('kv.set with a ttl over 10 years (1e17 s) is refused and stores nothing', withStore(async (store, u) => {
      for (const ttl of [1e17, TEN_YEARS_S + 1]) {
        await rejectsCode(() => store.kv.set(u, 'v', ttl), 'NVENT_INVALID_ARGUMENT', named('ttl'))
        assert.equal(await store.kv.exists(u), false)
      }
      await store.kv.set(u, 'kept', 60)
      await rejectsCode(() => store.kv.set(u, 'v', 1e17), 'NVENT_INVALID_ARGUMENT')
      await rejectsCode(() => store.kv.expire(u, 1e17), 'NVENT_INVALID_ARGUMENT')
      await rejectsCode(() => store.kv.mset([{ key: `${u}:m`, value: 1, ttl: 1e17 }]), 'NVENT_INVALID_ARGUMENT')
      assert.equal(await store.kv.get(u), 'kept')
      assert.equal(await store.kv.exists(`${u}:m`), false)
      const left = await store.kv.ttl(u)
      assert.ok(left > 50 && left <= 60, `ttl ${left} unchanged`)
    }))

    test('a ttl of exactly 10 years is kept: the key lives and reports its ttl', withStore(async (store, u) => {
      await store.kv.set(u, 'long', TEN_YEARS_S)
      assert.equal(await store.kv.get(u), 'long')
      const left = await store.kv.ttl(u)
      assert.ok(left > TEN_YEARS_S - 60 && left <= TEN_YEARS_S, `ttl ${left}`)
    }))

    test('claim.once with a ttl over 10 years is refused; a 10-year claim excludes another owner', withStore(async (store, u) => {
      await rejectsCode(() => store.claim.once(u, 'a', 1e17), 'NVENT_INVALID_ARGUMENT', named('ttl'))
      assert.equal(await store.claim.once(u, 'b', TEN_YEARS_S), true)
      assert.equal(await store.claim.once(u, 'c', TEN_YEARS_S), false)
      await rejectsCode(() => store.claim.extend(u, 'b', 1e17), 'NVENT_INVALID_ARGUMENT')
      assert.equal(await store.claim.once(u, 'c', 30), false, 'the refused extend left the claim as it was')
    }))

    test('read limits and offsets must be integers within 0..1e9, naming the option', withStore(async (store, u) => {
      // One name per tier: Redis refuses a name reused across tiers.
      const [sub, idx, col] = [`${u}:s`, `${u}:i`, `${u}:d`]
      await store.stream.append(sub, { type: 't' })
      await store.index.add(idx, 'a', 1)
      await store.save(col, 'd', { x: 1 })
      for (const bad of [1e12, 1.5, -1]) {
        await rejectsCode(() => store.stream.read(sub, { limit: bad }), 'NVENT_INVALID_ARGUMENT', named('limit'))
        await rejectsCode(() => store.index.read(idx, { limit: bad }), 'NVENT_INVALID_ARGUMENT', named('limit'))
        await rejectsCode(() => store.index.read(idx, { offset: bad }), 'NVENT_INVALID_ARGUMENT', named('offset'))
        await rejectsCode(() => store.list(col, { limit: bad }), 'NVENT_INVALID_ARGUMENT', named('limit'))
        await rejectsCode(() => store.list(col, { offset: bad }), 'NVENT_INVALID_ARGUMENT', named('offset'))
      }
      assert.equal((await store.stream.read(sub, { limit: 1e9 })).length, 1)
      assert.equal((await store.index.read(idx, { limit: 1e9, offset: 0 })).length, 1)
      assert.equal((await store.list(col, { limit: 1e9, offset: 0 })).length, 1)
    }))
  })
}
