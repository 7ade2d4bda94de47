// The Redis store sends the kv.get / kv.set / stream.append calls of one JS turn as one
// pipeline (js/batch.js): each call must still succeed or fail on its own, a refused call
// must change nothing, and order within a turn must hold.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { RedisStoreAdapter } from '../index.mjs'
import { haveRedis, startRedis } from './helpers/redis-server.mjs'
import { unique } from './helpers/expect.mjs'

describe('redis store: calls of one turn sent together, records built in JS', { skip: !haveRedis() && 'redis-server not installed' }, () => {
  let server
  let store
  before(async () => {
    server = await startRedis()
    store = new RedisStoreAdapter({ connection: server.connection })
  })
  after(async () => {
    await store?.close()
    await server?.close()
  })

  test('each call of a turn settles on its own; refused calls change nothing', async () => {
    const k = unique('batch:kv')
    const hash = unique('batch:hash')
    const str = unique('batch:str')
    const s = unique('batch:subject')
    await server.cmd('HSET', hash, 'f', '1')
    await server.cmd('SET', str, '"keep"')
    const calls = [
      store.kv.set(k, { a: 1 }),
      store.kv.get(hash), // WRONGTYPE
      store.stream.append(str, { type: 't' }), // WRONGTYPE
      store.kv.set('', 1), // refused by the engine
      store.stream.append(s, { type: 1 }), // refused by the engine
      store.kv.set(unique('batch:big'), 'x'.repeat(64), -1), // refused in JS
      store.kv.get(k),
      store.stream.append(s, { type: 'ok', id: 'mine', ts: 5, data: [1, 'two'] }),
      store.kv.get(unique('batch:missing')),
    ]
    const r = await Promise.allSettled(calls)
    const codes = r.map((x) => (x.status === 'rejected' ? x.reason.code : 'ok'))
    assert.deepEqual(codes, [
      'ok',
      'NVENT_INVALID_ARGUMENT',
      'NVENT_INVALID_ARGUMENT',
      'NVENT_INVALID_NAME',
      'NVENT_INVALID_ARGUMENT',
      'NVENT_INVALID_ARGUMENT',
      'ok',
      'ok',
      'ok',
    ])
    for (const x of r) if (x.status === 'rejected') assert.ok(x.reason instanceof Error && x.reason.message)
    assert.equal(r[0].value, undefined)
    assert.deepEqual(r[6].value, { a: 1 })
    const rec = r[7].value
    assert.match(rec.id, /^\d+-\d+$/)
    assert.deepEqual(rec, { id: rec.id, ts: Number(rec.id.split('-')[0]), type: 'ok', data: [1, 'two'] })
    assert.equal(r[8].value, null)
    assert.equal(await server.cmd('GET', str), '"keep"')
    assert.equal(await server.cmd('TYPE', hash), 'hash')
    assert.deepEqual(await store.stream.read(s), [rec])
  })

  test('many calls in one turn keep their order and results', async () => {
    const s = unique('batch:many')
    const n = 3000
    const appends = Array.from({ length: n }, (_, i) => store.stream.append(s, { type: 't', data: i }))
    const sets = Array.from({ length: n }, (_, i) => store.kv.set(`${s}:k${i % 7}`, i, i % 2 ? 60 : undefined))
    const gets = Array.from({ length: 7 }, (_, i) => store.kv.get(`${s}:k${i}`))
    const recs = await Promise.all(appends)
    await Promise.all(sets)
    const last = await Promise.all(gets)
    // Stored in call order (stream ids increase), each call got its own record.
    const stored = await store.stream.read(s)
    assert.deepEqual(stored.map((e) => e.data), Array.from({ length: n }, (_, i) => i))
    assert.deepEqual(stored.map((e) => e.id), recs.map((r) => r.id))
    // The last set of each key in the turn wins, as if called one after another.
    const lastOf = (j) => {
      let i = n - 1
      while (i % 7 !== j) i--
      return i
    }
    assert.deepEqual(last, Array.from({ length: 7 }, (_, j) => lastOf(j)))
    assert.ok((await store.kv.ttl(`${s}:k1`)) > 0)
  })

  test('calls after close reject with NVENT_CLOSED', async () => {
    const other = new RedisStoreAdapter({ connection: server.connection })
    await other.kv.set(unique('batch:c'), 1)
    await other.close()
    const r = await Promise.allSettled([other.kv.get('x'), other.kv.set('x', 1), other.stream.append('x', { type: 't' })])
    assert.deepEqual(r.map((x) => x.reason?.code), ['NVENT_CLOSED', 'NVENT_CLOSED', 'NVENT_CLOSED'])
  })

  test('the record equals what is read back and shares nothing with the event', async () => {
    const s = unique('batch:records')
    const nested = { list: [1, -0, 'x', { deep: [true, null] }], n: 0.1 }
    const events = [
      { type: 'plain', data: nested, extra: 'e', skipped: undefined },
      { type: 'date', when: new Date(0), data: { at: new Date(1) } },
      JSON.parse('{"type":"proto","data":{"__proto__":{"polluted":true}}}'),
      Object.assign(Object.create(null), { type: 'nullproto', data: Object.assign(Object.create(null), { a: 1 }) }),
      { type: 'toJSON', data: { toJSON: () => ({ replaced: true }) } },
      { type: 'ids', id: 'mine', ts: 1, data: 2 },
      { 10: 'int key first', type: 'intkeys', b: 1, 2: 'two' },
    ]
    let reads = 0
    const getter = { type: 'getter', get data() { reads++; return { n: reads } } }
    const recs = await Promise.all([...events, getter].map((e) => store.stream.append(s, e)))
    const stored = await store.stream.read(s)
    assert.deepEqual(recs, stored)
    for (let i = 0; i < recs.length; i++) {
      assert.deepEqual(Object.keys(recs[i]), Object.keys(stored[i]), `key order of ${recs[i].type}`)
      assert.equal(Object.getPrototypeOf(recs[i]), Object.prototype)
    }
    assert.equal(Object.is(recs[0].data.list[1], 0), true)
    assert.notEqual(recs[0].data, nested)
    recs[0].data.list.push('mutated')
    assert.equal(nested.list.length, 4)
    assert.equal({}.polluted, undefined)
    assert.deepEqual(Object.getOwnPropertyDescriptor(recs[2].data, '__proto__').value, { polluted: true })
    assert.equal(Object.getPrototypeOf(recs[2].data), Object.prototype)
    assert.deepEqual(recs[4].data, { replaced: true })
    assert.equal(recs[5].id === 'mine', false)
  })
})
