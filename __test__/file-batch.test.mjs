// Appends of one JS turn go to the file store as one batch (js/batch.js). These tests pin
// what the batch must not change: each append's own result or error, call order against
// every other call made in the same turn, and records equal to what a restart reads back.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { FileStoreAdapter, MemoryStoreAdapter, NventError } from '../index.mjs'

const require = createRequire(import.meta.url)
const { plainRecord, encodeRecord } = require('../js/codec.js')

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nvent-batch-'))
process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }))
let n = 0
const freshDir = () => path.join(root, `d${++n}`)

async function open(durability = 'batch', options = {}) {
  const dataDir = freshDir()
  const store = new FileStoreAdapter({ dataDir, durability, ...options })
  await store.init()
  return { store, dataDir }
}

/** What a value reads back as after a trip through its stored JSON text. */
const jsonForm = (v) => JSON.parse(JSON.stringify(v))

test('plainRecord copies exactly the JSON form, or declines', () => {
  const cases = [
    { type: 't', a: 1, b: 'x', c: [1, 'two', null, true, { d: -0 }], e: { f: { g: [] } } },
    { type: 't', 2: 'two', 1: 'one', z: 0, y: -0, x: 1.5e300, w: 'é😀', v: '"\\\n\u0000' },
    { type: 't', skip: undefined, keep: null },
    { type: 't', nested: { deep: [[[[{}]]]] } },
  ]
  for (const c of cases) {
    const p = plainRecord(c)
    assert.equal(JSON.stringify(p), encodeRecord(c, 'event'))
    // With its id and ts filled in, the copy is the record the store keeps.
    p.id = '1-0'
    p.ts = 1
    const stored = jsonForm({ id: '1-0', ts: 1, ...c })
    assert.deepStrictEqual(p, stored)
    assert.deepStrictEqual(Object.keys(p), Object.keys(stored))
    // A copy: nothing is shared with the caller's event.
    if (c.c) assert.notEqual(p.c, c.c)
  }
  const declined = [
    { type: 't', when: new Date(0) },
    { type: 't', id: 'mine' },
    { type: 't', ts: 5 },
    { type: 't', nested: Object.create(null) },
    { type: 't', nested: JSON.parse('{"__proto__": 1}') },
    { type: 't', f() {} },
    { type: 't', a: [undefined] },
    { type: 't', big: 1n },
    { type: 't', nan: NaN },
    { type: 't', map: new Map() },
    { type: 't', buf: Buffer.from('x') },
    { type: 't', s: '\ud800' },
    { type: 't', j: { toJSON: () => 1 } },
    Object.assign(Object.create({ inherited: 1 }), { type: 't' }),
    [],
    null,
    'text',
  ]
  const circular = { type: 't' }
  circular.self = circular
  declined.push(circular)
  for (const d of declined) assert.equal(plainRecord(d), undefined, JSON.stringify(d, (k, v) => (typeof v === 'bigint' ? 'big' : v === circular && k ? '[circular]' : v)))
})

// Values mode 'strict' (SPEC §2): the event with a function field is refused, not converted.
test('a batch answers each append on its own and keeps their order', async () => {
  const { store, dataDir } = await open('batch', { values: 'strict' })
  const circular = { type: 'c' }
  circular.self = circular
  const calls = [
    store.stream.append('s', { type: 'a', n: 1 }),
    store.stream.append('s', { n: 2 }),
    store.stream.append('', { type: 'b' }),
    store.stream.append('s', { type: 'c', data: { when: new Date(0) } }),
    store.stream.append('s', circular),
    store.stream.append('s', { type: 'd', id: 'ignored', ts: 1 }),
    store.stream.append('s', { type: 'e', f: () => 1 }),
    store.stream.append('other', { type: 'f' }),
    store.stream.append('s\u0000x', { type: 'g' }),
    store.stream.append('s', { type: 'h', x: undefined }),
  ]
  const settled = await Promise.allSettled(calls)
  const codes = settled.map((s) => (s.status === 'fulfilled' ? 'ok' : s.reason.code))
  assert.deepEqual(codes, [
    'ok',
    'NVENT_INVALID_ARGUMENT',
    'NVENT_INVALID_NAME',
    'ok',
    'NVENT_CIRCULAR',
    'ok',
    'NVENT_NOT_SERIALIZABLE',
    'ok',
    'NVENT_INVALID_NAME',
    'ok',
  ])
  for (const s of settled) if (s.status === 'rejected') assert.ok(s.reason instanceof NventError)
  const ok = settled.filter((s) => s.status === 'fulfilled').map((s) => s.value)
  assert.deepEqual(ok[1].data, { when: '1970-01-01T00:00:00.000Z' })
  assert.notEqual(ok[2].id, 'ignored')
  assert.deepEqual(Object.keys(ok[4]), ['id', 'ts', 'type'])
  const read = await store.stream.read('s')
  assert.deepEqual(read.map((r) => r.type), ['a', 'c', 'd', 'h'])
  // Ids strictly increase in call order; the records returned are the records stored.
  const mine = [ok[0], ok[1], ok[2], ok[4]]
  assert.deepStrictEqual(read, mine)
  for (let i = 1; i < read.length; i++) {
    const [a, b] = [read[i - 1].id, read[i].id].map((id) => id.split('-').map(Number))
    assert.ok(a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]), `${read[i - 1].id} < ${read[i].id}`)
  }
  await store.close()
  const again = new FileStoreAdapter({ dataDir })
  assert.deepStrictEqual(await again.stream.read('s'), mine)
  assert.deepStrictEqual(await again.stream.read('other'), [ok[3]])
  await again.close()
})

test('calls made in the same turn as appends see them, in call order', async () => {
  const { store } = await open()
  const scoped = store.scope('run', '1')
  const a = store.stream.append('s', { type: 'one' })
  const countAfterOne = store.stream.count('s')
  const b = scoped.stream.append('s', { type: 'scoped' })
  const c = store.stream.append('s', { type: 'two' })
  const readAfterTwo = store.stream.read('s')
  const deleted = store.stream.delete('s')
  const d = store.stream.append('s', { type: 'three' })
  const [ra, rb, rc, rd] = await Promise.all([a, b, c, d])
  assert.equal(await countAfterOne, 1)
  assert.deepStrictEqual(await readAfterTwo, [ra, rc])
  assert.equal(await deleted, true)
  assert.deepStrictEqual(await store.stream.read('s'), [rd])
  assert.deepStrictEqual(await scoped.stream.read('s'), [rb])
  await store.close()
})

test('batched records equal the memory backend and the one-call path', async () => {
  const events = [
    { type: 't', a: [1, { b: null }], 10: 'ten', 9: 'nine', z: -0, s: 'é\n"' },
    { type: 't', d: new Date(1), nested: { arr: [new Date(2)] } },
  ]
  const mem = new MemoryStoreAdapter()
  for (const durability of ['always', 'batch', 'none']) {
    const { store } = await open(durability)
    const fileRecs = await Promise.all(events.map((e) => store.stream.append('s', e)))
    const memRecs = await Promise.all(events.map((e) => mem.stream.append(durability, e)))
    for (let i = 0; i < events.length; i++) {
      const strip = ({ id, ts, ...rest }) => rest
      assert.deepStrictEqual(strip(fileRecs[i]), strip(memRecs[i]))
      assert.deepStrictEqual(fileRecs[i], jsonForm(fileRecs[i]))
      assert.deepStrictEqual(Object.keys(fileRecs[i]), Object.keys(memRecs[i]))
    }
    assert.deepStrictEqual(await store.stream.read('s'), fileRecs)
    await store.close()
  }
  await mem.close()
})

test('appends after close reject with NVENT_CLOSED; a batch cut by close resolves or rejects each', async () => {
  const { store } = await open()
  const before = store.stream.append('s', { type: 'before' })
  const closing = store.close()
  await assert.doesNotReject(before)
  await closing
  await assert.rejects(store.stream.append('s', { type: 'after' }), (e) => e.code === 'NVENT_CLOSED')
})

test('a turn with more appends than one batch holds keeps their order across batches', async () => {
  const { store, dataDir } = await open()
  const n = 150
  const calls = []
  for (let i = 0; i < n; i++) {
    calls.push(store.stream.append(i % 2 ? 'odd' : 'even', i === 77 ? { i } : { type: 't', i }))
    if (i === 100) calls.push(store.stream.count('even'))
  }
  const settled = await Promise.allSettled(calls)
  assert.equal(settled.filter((s) => s.status === 'rejected').length, 1)
  assert.equal(settled[77].reason.code, 'NVENT_INVALID_ARGUMENT')
  // The count, made after append 100, sees appends 0..100 to 'even' (51 of them).
  assert.equal(settled[101].value, 51)
  await store.close()
  const again = new FileStoreAdapter({ dataDir })
  for (const subject of ['even', 'odd']) {
    const recs = await again.stream.read(subject)
    const want = Array.from({ length: n }, (_, i) => i).filter((i) => (i % 2 ? 'odd' : 'even') === subject && i !== 77)
    assert.deepEqual(recs.map((r) => r.i), want)
  }
  await again.close()
})

test('many appends in flight across several turns all land once, in order per caller', async () => {
  const { store, dataDir } = await open()
  const writers = 8
  const each = 300
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; i < each; i++) await store.stream.append(`w${w % 3}`, { type: 'n', w, i })
    }),
  )
  await store.close()
  const again = new FileStoreAdapter({ dataDir })
  let total = 0
  for (let s = 0; s < 3; s++) {
    const recs = await again.stream.read(`w${s}`)
    total += recs.length
    for (let w = s; w < writers; w += 3) {
      const mine = recs.filter((r) => r.w === w).map((r) => r.i)
      assert.deepEqual(mine, Array.from({ length: each }, (_, i) => i))
    }
  }
  assert.equal(total, writers * each)
  await again.close()
})
