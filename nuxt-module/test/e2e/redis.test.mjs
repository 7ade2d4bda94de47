// Production build of the `redis` fixture: queue, stream and store on a redis-server started
// for this file on a free loopback port (never the machine's 6379), its endpoint and a key
// prefix unique to the run given at server start through NUXT_NVENT_* env. Two servers booted
// from the same `.output` share the queue, the store and the stream.
// Without redis-server every test is skipped (counted as such), unless CI is set: then they fail.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { command, haveRedis, startRedis } from '../../../__test__/helpers/redis-server.mjs'
import { buildApp, fixture, freePort, openEventStream, requireBuiltEngine, startProcess, waitForJob } from './helpers.mjs'

const skip = !haveRedis() && !process.env.CI
  && 'redis-server is not installed (apt-get install redis-server); with CI set this is a failure'

describe('redis fixture (production build, two servers)', () => {
  const rootDir = fixture('redis')
  const prefix = `nvent-e2e-${process.pid}-${Date.now().toString(36)}`
  const jobKey = id => `${prefix}:queue:{fixture}:job:${id}`
  let redis
  let a
  let b

  async function boot(output) {
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const server = await startProcess(process.execPath, [join(output, 'server/index.mjs')], {
      cwd: rootDir,
      // A route that needs the adapters: a failed nvent start (Redis unreachable) is a 500
      // here, while the page would still answer 200.
      url: `${base}/api/queue`,
      timeout: 30_000,
      env: {
        PORT: String(port),
        HOST: '127.0.0.1',
        NODE_ENV: 'production',
        NUXT_NVENT_CONNECTIONS_REDIS_HOST: '127.0.0.1',
        NUXT_NVENT_CONNECTIONS_REDIS_PORT: String(redis.port),
        NUXT_NVENT_QUEUE_PREFIX: prefix,
        NUXT_NVENT_STREAM_PREFIX: prefix,
        NUXT_NVENT_STORE_PREFIX: prefix,
      },
    })
    // GET with `query`, or POST of `body` as JSON; answers the JSON reply, throws on an error status.
    const api = async (path, { body, query } = {}) => {
      const href = `${base}${path}${query ? `?${new URLSearchParams(query)}` : ''}`
      const res = await fetch(href, body ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {})
      if (!res.ok) throw new Error(`${body ? 'POST' : 'GET'} ${href}: ${res.status} ${await res.text()}`)
      return res.json()
    }
    return { ...server, port, base, api, getJob: id => api('/api/job', { query: { id } }) }
  }

  before(async () => {
    if (skip) return
    if (!haveRedis()) throw new Error('redis-server is not installed and CI is set: install redis-server')
    requireBuiltEngine()
    redis = await startRedis()
    const output = await buildApp(rootDir)
    // Settled one by one, so that a server that did start is stopped in `after`.
    const started = await Promise.allSettled([boot(output), boot(output)])
    ;[a, b] = started.map(r => r.value)
    const failed = started.find(r => r.status === 'rejected')
    if (failed) throw failed.reason
  }, { timeout: 240_000 })
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()])
    await redis?.close()
  }, { timeout: 30_000 })

  test('a job enqueued through a route is processed by the worker in server/functions/', { skip }, async () => {
    const { id } = await a.api('/api/enqueue', { body: { name: 'echo', data: { text: 'on redis' } } })
    const job = await waitForJob(a.getJob, id)
    assert.equal(job.state, 'completed', job.failedReason)
    assert.equal(job.returnvalue.echoed, 'on redis')
    assert.equal(job.opts.attempts, 2, 'the function\'s config.queue.defaultJobOptions apply to its jobs')
    assert.ok([String(a.port), String(b.port)].includes(job.returnvalue.port), JSON.stringify(job.returnvalue))
    assert.deepEqual((await b.api('/api/kv', { query: { key: `processed:${id}` } })).value, { text: 'on redis' })
  })

  test('the job and the store value are in Redis, under the prefix given at server start', { skip }, async () => {
    const { id } = await a.api('/api/enqueue', { body: { name: 'echo', data: { text: 'stored' } } })
    assert.equal((await waitForJob(a.getJob, id)).state, 'completed')

    const flat = await command(redis.port, ['HGETALL', jobKey(id)])
    assert.ok(Array.isArray(flat) && flat.length > 0, `no hash at ${jobKey(id)}: ${JSON.stringify(flat)}`)
    const hash = Object.fromEntries(Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], flat[2 * i + 1]]))
    assert.equal(hash.name, 'echo')
    assert.deepEqual(JSON.parse(hash.data), { text: 'stored' })
    assert.equal(hash.state, 'completed')
    // Store keys are used as given (docs/REDIS.md): the worker's kv value is the JSON text.
    assert.deepEqual(JSON.parse(await command(redis.port, ['GET', `processed:${id}`])), { text: 'stored' })
    // The build's own prefix ('nvent-fixture') and the engine default ('nvent') are unused.
    assert.deepEqual(await command(redis.port, ['KEYS', 'nvent-fixture:*']), [])
    assert.deepEqual(await command(redis.port, ['KEYS', 'nvent:queue:*']), [])
  })

  test('two servers share the queue: paused on A, enqueued on B, runs only after resume on A', { skip }, async () => {
    assert.deepEqual(await a.api('/api/queue', { body: { action: 'pause' } }), { paused: true })
    try {
      assert.deepEqual(await b.api('/api/queue'), { paused: true }, 'B sees the pause made on A')
      assert.equal(await command(redis.port, ['HGET', `${prefix}:queue:{fixture}:meta`, 'paused']), '1')
      const { id } = await b.api('/api/enqueue', { body: { name: 'echo', data: { text: 'after resume' } } })
      // Neither server's worker may take it while the queue is paused: watch it for ~1 s.
      // SPEC §5: a waiting job of a paused queue reports state `paused`, counted in `paused`.
      const until = Date.now() + 1000
      while (Date.now() < until) {
        for (const server of [a, b]) {
          const { job, counts } = await server.getJob(id)
          assert.equal(job?.state, 'paused', `job ${id} on the paused queue, seen from ${server.port}`)
          assert.equal(counts.paused, 1, JSON.stringify(counts))
        }
        await new Promise(resolve => setTimeout(resolve, 100))
      }
      assert.deepEqual(await a.api('/api/queue', { body: { action: 'resume' } }), { paused: false })
      const job = await waitForJob(b.getJob, id)
      assert.equal(job.state, 'completed', job.failedReason)
      assert.equal(job.returnvalue.echoed, 'after resume')
    }
    finally {
      await a.api('/api/queue', { body: { action: 'resume' } }).catch(() => {})
    }
  })

  test('two servers share the store: a kv value set on A is read on B', { skip }, async () => {
    const key = `shared:${prefix}`
    await a.api('/api/kv', { body: { key, value: { from: 'A', n: 1 } } })
    assert.deepEqual((await b.api('/api/kv', { query: { key } })).value, { from: 'A', n: 1 })
  })

  test('two servers share the stream: an event published on A reaches an SSE client of B', { skip }, async () => {
    const topic = `${prefix}:sse`
    const sse = await openEventStream(`${b.base}/api/_nvent/stream?topic=${encodeURIComponent(topic)}`)
    try {
      assert.equal(sse.res.status, 200)
      await sse.next(m => m.event === 'nvent:subscribed')
      // `nvent:subscribed` comes once the subscription is live: one publish must arrive.
      await a.api('/api/publish', { body: { topic, type: 'fixture.cross', data: { from: 'A' } } })
      const message = await sse.next(m => m.event === 'message')
      const event = JSON.parse(message.data)
      assert.equal(event.type, 'fixture.cross')
      assert.deepEqual(event.data, { from: 'A' })
      // Published through Redis: the topic's retained messages, under the run's prefix.
      assert.equal(await command(redis.port, ['XLEN', `${prefix}:stream:${topic}`]), 1)
    }
    finally {
      sse.close()
    }
  })
})
