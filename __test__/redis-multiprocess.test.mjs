// Several processes sharing one Redis (SPEC §3.3, §3.5, §4, §9): no lost fields, exact
// counters, exclusive claims, pub/sub fan-out to every process, group delivery to exactly
// one member, reclaim of a dead consumer's pending entries, store subscriptions across
// processes.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { RedisStoreAdapter, RedisStreamAdapter } from '../index.mjs'
import { haveRedis, startRedis } from './helpers/redis-server.mjs'
import { unique } from './helpers/expect.mjs'
import { waitFor } from './helpers/wait.mjs'

const CHILD = fileURLToPath(new URL('./helpers/redis-child.mjs', import.meta.url))

function child(port, name) {
  const p = fork(CHILD, [String(port), name], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  let next = 0
  const waiting = new Map()
  const ready = new Promise((resolve) => {
    p.on('message', (m) => {
      if (m.ready) return resolve()
      const w = waiting.get(m.id)
      waiting.delete(m.id)
      if (m.ok) w.resolve(m.value)
      else w.reject(Object.assign(new Error(m.value.message), { code: m.value.code }))
    })
  })
  return {
    proc: p,
    ready,
    call: (action, args) =>
      new Promise((resolve, reject) => {
        const id = ++next
        waiting.set(id, { resolve, reject })
        p.send({ id, action, args })
      }),
    kill: () => p.kill('SIGKILL'),
  }
}

describe('redis: three processes, one Redis', { skip: !haveRedis() && 'redis-server not installed' }, () => {
  let server
  let kids
  let store
  let stream
  before(async () => {
    server = await startRedis()
    kids = ['p1', 'p2', 'p3'].map((n) => child(server.port, n))
    await Promise.all(kids.map((k) => k.ready))
    store = new RedisStoreAdapter({ connection: server.connection })
    stream = new RedisStreamAdapter({ connection: server.connection, prefix: 'xproc' })
  })
  after(async () => {
    for (const k of kids ?? []) k.kill()
    await store?.close()
    await stream?.close()
    await server?.close()
  })

  test('concurrent updateWithRetry on one entry loses no field', async () => {
    const key = unique('mp:upd')
    await store.index.add(key, 'e', 1, { base: true })
    await Promise.all(kids.map((k) => k.call('updates', { key, id: 'e', n: 30 })))
    const { metadata } = await store.index.get(key, 'e')
    for (const name of ['p1', 'p2', 'p3']) {
      for (let i = 0; i < 30; i++) assert.equal(metadata[`${name}_${i}`], i)
    }
    assert.equal(metadata.base, true)
    assert.equal(metadata.version, 90)
  })

  test('concurrent increments add up exactly', async () => {
    const key = unique('mp:inc')
    await store.index.add(key, 'e', 1, { stats: { n: 0 } })
    await Promise.all(kids.map((k) => k.call('increments', { key, id: 'e', n: 50 })))
    assert.equal((await store.index.get(key, 'e')).metadata.stats.n, 150)
    assert.equal(await store.kv.get(`${key}:kv`), 75)
  })

  test('claims are mutually exclusive across processes', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => unique(`mp:claim${i}`))
    const won = await Promise.all(kids.map((k) => k.call('claims', { keys })))
    const all = won.flat()
    assert.equal(all.length, keys.length)
    assert.equal(new Set(all).size, keys.length)
  })

  test('pub/sub fan-out reaches every subscriber in every process', async () => {
    const topic = unique('mp:fan')
    await Promise.all(kids.map((k) => k.call('subscribe', { topic })))
    for (let i = 0; i < 10; i++) await stream.publish(topic, { type: 't', data: i })
    for (const k of kids) {
      const got = await waitFor(async () => {
        const g = await k.call('got', { key: topic })
        return g.length >= 10 && g
      }, { what: 'fan-out' })
      assert.deepEqual(got, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    }
  })

  test('a group gives each message to exactly one process', async () => {
    const topic = unique('mp:group')
    await Promise.all(kids.map((k) => k.call('subscribe', { topic, group: 'workers' })))
    for (let i = 0; i < 30; i++) await stream.publish(topic, { type: 't', data: i })
    const all = await waitFor(async () => {
      const got = (await Promise.all(kids.map((k) => k.call('got', { key: topic })))).flat()
      return got.length >= 30 && got
    }, { what: '30 group deliveries' })
    assert.equal(all.length, 30)
    assert.equal(new Set(all).size, 30)
  })

  test('an entry left pending by a dead consumer is reclaimed by a live process', async () => {
    const topic = unique('mp:reclaim')
    const key = `xproc:stream:${topic}`
    await server.cmd('XGROUP', 'CREATE', key, 'workers', '$', 'MKSTREAM')
    await stream.publish(topic, { type: 't', data: 'orphan' })
    // A consumer reads the entry and dies before acknowledging it.
    const read = await server.cmd('XREADGROUP', 'GROUP', 'workers', 'dead-consumer', 'COUNT', '1', 'STREAMS', key, '>')
    assert.equal(read[0][1].length, 1)
    await Promise.all(kids.map((k) => k.call('subscribe', { topic, group: 'workers' })))
    const got = await waitFor(async () => {
      const g = (await Promise.all(kids.map((k) => k.call('got', { key: topic })))).flat()
      return g.length >= 1 && g
    }, { what: 'the reclaimed entry', timeoutMs: 15000 })
    assert.deepEqual(got, ['orphan'])
    await waitFor(async () => (await server.cmd('XPENDING', key, 'workers'))[0] === 0, { what: 'nothing pending' })
  })

  test('a group member killed mid-flight: the others keep receiving', async () => {
    const topic = unique('mp:kill')
    await Promise.all(kids.map((k) => k.call('subscribe', { topic, group: 'g' })))
    kids[2].kill()
    const live = kids.slice(0, 2)
    for (let i = 0; i < 20; i++) await stream.publish(topic, { type: 't', data: i })
    const got = await waitFor(async () => {
      const g = (await Promise.all(live.map((k) => k.call('got', { key: topic })))).flat()
      return g.length >= 20 && g
    }, { what: 'deliveries after a kill', timeoutMs: 20000 })
    assert.deepEqual([...new Set(got)].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i))
  })

  test('store stream.subscribe sees appends made by another process', async () => {
    const subject = unique('mp:subject')
    await kids[0].call('storeSubscribe', { subject })
    for (let i = 0; i < 5; i++) await store.stream.append(subject, { type: 't', data: i })
    const got = await waitFor(async () => {
      const g = await kids[0].call('got', { key: subject })
      return g.length >= 5 && g
    }, { what: 'store events in another process' })
    assert.deepEqual(got, [0, 1, 2, 3, 4])
  })

  test('store subscribers in three processes get every append of three processes, in id order', async () => {
    // kids[2] was killed by an earlier test.
    const live = kids.slice(0, 2)
    const subject = unique('mp:ordered')
    await store.stream.append(subject, { type: 't', data: 'before' })
    await Promise.all(live.map((k) => k.call('storeSubscribe', { subject, records: true })))
    const mine = []
    await store.stream.subscribe(subject, (e) => mine.push({ id: e.id, data: e.data }))
    // 50 appends from each of the two children and from here, made concurrently.
    await Promise.all([
      ...live.map((k) => k.call('appends', { subject, n: 50 })),
      ...Array.from({ length: 50 }, (_, i) => store.stream.append(subject, { type: 't', data: `parent-${i}` })),
    ])
    const stored = (await store.stream.read(subject)).slice(1).map((e) => ({ id: e.id, data: e.data }))
    assert.equal(stored.length, 150)
    for (const k of live) {
      const got = await waitFor(async () => {
        const g = await k.call('got', { key: subject })
        return g.length >= 150 && g
      }, { what: 'all appends in a subscribing process' })
      assert.deepEqual(got, stored)
    }
    await waitFor(() => mine.length >= 150, { what: 'all appends in this process' })
    assert.deepEqual(mine, stored)
  })
})
