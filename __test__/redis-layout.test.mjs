// The Redis store layout (seed 003, docs/REDIS.md), read back with raw commands: key
// types, field names, JSON-encoded leaves; values written raw by the TypeScript reference
// adapter still read back; trimming; glob escaping; one round trip per index page.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { RedisStoreAdapter, RedisQueueAdapter } from '../index.mjs'
import { haveRedis, startRedis } from './helpers/redis-server.mjs'
import { unique } from './helpers/expect.mjs'
import { waitFor } from './helpers/wait.mjs'

describe('redis store layout (seed 003)', { skip: !haveRedis() && 'redis-server not installed' }, () => {
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

  test("a queue's active jobs are a hash of lease entries: expiry, token, keep setting, earlier failure", async () => {
    const queue = new RedisQueueAdapter({ connection: server.connection, prefix: 'lay' })
    const q = unique('layout-queue')
    const base = `lay:queue:{${q}}:`
    let release
    const held = new Promise((r) => (release = r))
    let started
    const running = new Promise((r) => (started = r))
    let calls = 0
    try {
      await queue.registerWorker(q, 'job', async () => {
        if (++calls === 1) throw new Error('first try fails')
        started()
        await held
        return 'ok'
      })
      const before = Date.now()
      const id = await queue.enqueue(q, { name: 'job', data: 1, opts: { attempts: 2, removeOnComplete: 3 } })
      await running
      assert.equal(await server.cmd('TYPE', `${base}active`), 'hash')
      const entry = await server.cmd('HGET', `${base}active`, id)
      const m = /^(\d+):(\d+):(-?\d+):([01])$/.exec(entry)
      assert.ok(m, `lease entry ${entry}`)
      // Lease expiry (default lockDuration 30 s), the attempt's token as in the job hash,
      // removeOnComplete 3, and the failed first attempt.
      assert.ok(Number(m[1]) >= before + 29_000 && Number(m[1]) <= Date.now() + 30_000, `expiry ${m[1]}`)
      assert.equal(m[2], await server.cmd('HGET', `${base}job:${id}`, 'tok'))
      assert.equal(m[3], '3')
      assert.equal(m[4], '1')
      release()
      await waitFor(async () => (await queue.getJob(q, id))?.state === 'completed', { what: 'the job to complete' })
      const job = await queue.getJob(q, id)
      assert.equal(job.state, 'completed')
      assert.equal(job.failedReason ?? undefined, undefined)
      assert.equal(await server.cmd('HEXISTS', `${base}active`, id), 0)
      assert.deepEqual(await server.cmd('LRANGE', `${base}completed`, 0, -1), [id])
    } finally {
      release()
      await queue.close()
    }
  })

  test("a waiting job's hash: name, data, ts; seq only where the auto id does not already say it", async () => {
    const queue = new RedisQueueAdapter({ connection: server.connection, prefix: 'lay' })
    const q = unique('layout-seq')
    const base = `lay:queue:{${q}}:`
    const fields = async (id) => {
      const flat = await server.cmd('HGETALL', `${base}job:${id}`)
      const out = {}
      for (let i = 0; i < flat.length; i += 2) out[flat[i]] = flat[i + 1]
      return out
    }
    try {
      const before = Date.now()
      const [a, b] = await queue.enqueueBulk(q, [{ name: 'job', data: { n: 1 } }, { name: 'job', data: 'two' }])
      const first = await fields(a)
      assert.deepEqual(Object.keys(first).sort(), ['data', 'name', 'ts'])
      assert.equal(first.name, 'job')
      assert.equal(first.data, '{"n":1}')
      assert.ok(Number(first.ts) >= before && Number(first.ts) <= Date.now(), `ts ${first.ts}`)
      assert.deepEqual(await fields(b), { name: 'job', data: '"two"', ts: first.ts })
      assert.deepEqual([a, b], ['1', '2'])
      // A custom id takes a creation number but no id number: from then on the counters
      // differ, and every job stores its seq.
      await queue.enqueue(q, { name: 'job', data: 3, opts: { jobId: 'custom' } })
      const c = await queue.enqueue(q, { name: 'job', data: 4 })
      assert.equal((await fields('custom')).seq, '3')
      assert.equal(c, '3')
      assert.equal((await fields(c)).seq, '4')
      // Creation order, newest first, over both kinds.
      const listed = await queue.getJobs(q, { state: ['waiting'] })
      assert.deepEqual(listed.map((j) => j.id), [c, 'custom', b, a])
    } finally {
      await queue.close()
    }
  })

  test('a lone add (addJob-12) hands a job to an idle worker exactly as a bulk add (handFresh) does', async () => {
    // addJob-12 is written out without _common.lua's helpers: what it writes must stay
    // what addJobs writes for the same job (docs/REDIS.md).
    const queue = new RedisQueueAdapter({ connection: server.connection, prefix: 'lay' })
    const q = unique('layout-fresh')
    const base = `lay:queue:{${q}}:`
    const seen = []
    const offs = ['waiting', 'active'].map((e) => queue.on(q, e, (p) => seen.push([e, p])))
    let release = () => {}
    let started = () => {}
    const startedJob = () => new Promise((r) => (started = r))
    const idle = () => waitFor(async () => (await server.cmd('ZCARD', `${base}idle`)) === 1, { what: 'an idle worker' })
    // The job hash with the per-job values replaced by their kind, and the lease entry's shape.
    const shape = async (id) => {
      const flat = await server.cmd('HGETALL', `${base}job:${id}`)
      const h = {}
      for (let i = 0; i < flat.length; i += 2) h[flat[i]] = flat[i + 1]
      const lease = await server.cmd('HGET', `${base}active`, id)
      const m = /^(\d+):(\d+):(-?\d+):([01])$/.exec(lease)
      assert.ok(m, `lease entry ${lease}`)
      assert.equal(m[2], h.tok)
      assert.ok(Number(h.pon) >= Number(h.ts), `pon ${h.pon} ts ${h.ts}`)
      return { ...h, ts: 'ms', pon: 'ms', tok: 'n', lease: `ms:n:${m[3]}:${m[4]}` }
    }
    try {
      await queue.registerWorker(q, 'job', (job) => {
        started(job.id)
        return new Promise((r) => (release = r))
      })
      await idle()
      let running = startedJob()
      const a = await queue.enqueue(q, { name: 'job', data: { n: 1 } })
      assert.equal(await running, a)
      const lone = await shape(a)
      release()
      await waitFor(async () => (await queue.getJob(q, a))?.state === 'completed', { what: 'the first job to complete' })
      await idle()
      running = startedJob()
      // Two jobs: the bulk script (one job alone goes to addJob-12); the first is handed over.
      const [b] = await queue.enqueueBulk(q, [{ name: 'job', data: { n: 1 } }, { name: 'job', data: 2 }])
      assert.equal(await running, b)
      const bulk = await shape(b)
      assert.deepEqual(lone, { name: 'job', data: '{"n":1}', ts: 'ms', state: 'active', pon: 'ms', tok: 'n', made: '1', lease: 'ms:n:-1:0' })
      assert.deepEqual(bulk, lone)
      const of = (id) => seen.filter(([, p]) => p.jobId === id).map(([e, p]) => [e, { ...p, jobId: 'id' }])
      await waitFor(() => of(b).length === 2, { what: "the second job's events" })
      assert.deepEqual(of(a), [['waiting', { jobId: 'id', name: 'job' }], ['active', { jobId: 'id', name: 'job', attemptsMade: 0 }]])
      assert.deepEqual(of(b), of(a))
    } finally {
      offs.forEach((off) => off())
      release()
      await queue.close()
    }
  })

  test('an event stream is a Redis stream at the subject key with JSON-encoded fields', async () => {
    const s = unique('layout:stream')
    const rec = await store.stream.append(s, { type: 'flow.start', runId: 'r1', data: { n: 1, s: '2' } })
    assert.equal(await server.cmd('TYPE', s), 'stream')
    const [[id, fields]] = await server.cmd('XRANGE', s, '-', '+')
    assert.equal(id, rec.id)
    assert.equal(rec.ts, Number(id.split('-')[0]))
    assert.deepEqual(fields, ['type', '"flow.start"', 'runId', '"r1"', 'data', '{"n":1,"s":"2"}'])
  })

  test('event streams are trimmed to streams.trim.maxLen', async () => {
    const trimmed = new RedisStoreAdapter({ connection: server.connection, streams: { trim: { maxLen: 5, approx: false } } })
    const s = unique('layout:trim')
    for (let i = 0; i < 12; i++) await trimmed.stream.append(s, { type: 't', data: i })
    assert.equal(await server.cmd('XLEN', s), 5)
    assert.deepEqual((await trimmed.stream.read(s)).map((e) => e.data), [7, 8, 9, 10, 11])
    await trimmed.close()
  })

  test('an index is a sorted set plus a metadata hash of dot-path fields', async () => {
    const k = unique('layout:index')
    await store.index.add(k, 'e1', 1.5, { status: 'ok', stats: { total: 0, last: null }, tags: ['a'], count: '7' })
    assert.equal(await server.cmd('TYPE', k), 'zset')
    assert.equal(await server.cmd('ZSCORE', k, 'e1'), '1.5')
    assert.equal(await server.cmd('TYPE', `${k}:meta:e1`), 'hash')
    assert.deepEqual(await server.cmd('HGETALL', `${k}:meta:e1`), [
      'status', '"ok"', 'stats.total', '0', 'tags', '["a"]', 'count', '"7"', 'version', '0',
    ])
    await store.index.update(k, 'e1', { 'stats.total': 5, status: null })
    assert.deepEqual(await server.cmd('HGETALL', `${k}:meta:e1`), [
      'stats.total', '5', 'tags', '["a"]', 'count', '"7"', 'version', '1',
    ])
    await store.index.delete(k, 'e1')
    assert.equal(await server.cmd('EXISTS', `${k}:meta:e1`), 0)
  })

  test('an increment of a missing entry leaves no orphan hash', async () => {
    const k = unique('layout:orphan')
    await assert.rejects(store.index.increment(k, 'ghost', 'n', 1), { code: 'NVENT_NOT_FOUND' })
    assert.equal(await server.cmd('EXISTS', `${k}:meta:ghost`), 0)
    assert.equal(await server.cmd('EXISTS', k), 0)
  })

  test('kv values are plain keys holding JSON, with expiry', async () => {
    const k = unique('layout:kv')
    await store.kv.set(k, '123')
    assert.equal(await server.cmd('GET', k), '"123"')
    assert.equal(await store.kv.get(k), '123')
    await store.kv.set(k, { a: [1, false] }, 30)
    assert.equal(await server.cmd('GET', k), '{"a":[1,false]}')
    const pttl = await server.cmd('PTTL', k)
    assert.ok(pttl > 25000 && pttl <= 30000, `pttl ${pttl}`)
    await store.kv.set(k, 1)
    assert.equal(await server.cmd('PTTL', k), -1)
  })

  test('values written raw by the TypeScript adapter read back', async () => {
    const k = unique('layout:ts')
    await server.cmd('SET', `${k}:plain`, 'hello world')
    await server.cmd('SET', `${k}:num`, '42')
    assert.equal(await store.kv.get(`${k}:plain`), 'hello world')
    assert.equal(await store.kv.get(`${k}:num`), 42)
    assert.equal(await store.kv.increment(`${k}:num`, 1), 43)
    await server.cmd('ZADD', `${k}:idx`, '10', 'j1')
    await server.cmd('HSET', `${k}:idx:meta:j1`, 'status', 'pending', 'stats.total', '3', 'version', '0')
    const e = await store.index.get(`${k}:idx`, 'j1')
    assert.deepEqual(e, { id: 'j1', score: 10, metadata: { status: 'pending', stats: { total: 3 }, version: 0 } })
    assert.deepEqual((await store.index.read(`${k}:idx`, { filter: { status: 'pending' } })).map((x) => x.id), ['j1'])
    assert.equal(await store.index.increment(`${k}:idx`, 'j1', 'stats.total', 2), 5)
    await server.cmd('XADD', `${k}:s`, '*', 'type', 'raw.type', 'data', '{"x":1}')
    const [ev] = await store.stream.read(`${k}:s`)
    assert.equal(ev.type, 'raw.type')
    assert.deepEqual(ev.data, { x: 1 })
  })

  test('kv.clear treats [ and ] literally and leaves other tiers alone', async () => {
    const k = unique('layout:clear')
    await store.kv.set(`${k}:a[1]`, 1)
    await store.kv.set(`${k}:a1`, 1)
    await store.index.add(`${k}:a[1]x`, 'i', 1)
    assert.equal(await store.kv.clear(`${k}:a[1]*`), 1)
    assert.equal(await server.cmd('EXISTS', `${k}:a1`), 1)
    assert.equal(await server.cmd('EXISTS', `${k}:a[1]x`), 1)
  })

  test('index.read of a page is one round trip, filtered on the server', async () => {
    const k = unique('layout:page')
    for (let i = 0; i < 60; i++) await store.index.add(k, `e${i}`, i, { n: i, even: i % 2 === 0 })
    await store.index.read(k, { limit: 1 }) // loads the script
    await server.cmd('CONFIG', 'RESETSTAT')
    const page = await store.index.read(k, { limit: 50 })
    assert.equal(page.length, 50)
    const filtered = await store.index.read(k, { limit: 10, filter: { even: true } })
    assert.deepEqual(filtered.map((e) => e.metadata.n), [58, 56, 54, 52, 50, 48, 46, 44, 42, 40])
    assert.equal(await store.index.count(k), 60)
    const stats = await server.cmd('INFO', 'commandstats')
    const calls = (name) => Number((stats.match(new RegExp(`cmdstat_${name}:calls=(\\d+)`)) || [0, 0])[1])
    assert.equal(calls('evalsha'), 2, 'one script call per page')
    assert.equal(calls('zcard'), 1, 'count without filter is ZCARD')
  })
})
