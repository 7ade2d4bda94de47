// Production build of the `basic` fixture (memory backends; queue and stream adapters come
// from build-hook recipes, the store from the runtime hook), served by @nuxt/test-utils.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { $fetch, createTest, url } from '@nuxt/test-utils/e2e'
import { buildApp, fixture, openEventStream, requireBuiltEngine, waitFor, waitForJob } from './helpers.mjs'

requireBuiltEngine()

const rootDir = fixture('basic')
const hooks = createTest({
  rootDir,
  build: false,
  server: true,
  nuxtConfig: { nitro: { output: { dir: await buildApp(rootDir) } } },
  env: {
    // Read at server start: runtimeConfig override and the server's own REDIS_* env.
    NUXT_NVENT_CONNECTIONS_REDIS_HOST: 'redis.from-nuxt-env',
    REDIS_PASSWORD: 'server-secret',
  },
})
before(hooks.beforeAll, { timeout: 240_000 })
after(hooks.afterAll, { timeout: 60_000 })

const getJob = id => $fetch('/api/job', { query: { id } })
const enqueue = (name, data) => $fetch('/api/enqueue', { method: 'POST', body: { name, data } })

describe('basic fixture (production build)', () => {
  test('adapters from the build hook (class and factory recipes) and the runtime hook are the ones in use', async () => {
    const info = await $fetch('/api/info')
    assert.deepEqual(info.labels, {
      queue: 'factory for recipe-stream, queue adapter factory-queue',
      stream: 'from-build-hook',
      store: 'from-runtime-hook',
    })
    assert.equal(info.readyCalls, 1)
    assert.equal(info.bus, 'function')
  })

  test('NUXT_NVENT_* overrides and REDIS_* of the server apply at start', async () => {
    const { config } = await $fetch('/api/info')
    assert.deepEqual(config.queue.redis, { host: 'redis.from-nuxt-env', port: 6379, password: 'server-secret' })
    assert.equal(config.queue.adapter, 'factory-queue')
  })

  test('an enqueued job is processed by the worker in server/functions/', async () => {
    const { id } = await enqueue('echo', { text: 'hello' })
    const job = await waitForJob(getJob, id)
    assert.equal(job.state, 'completed', job.failedReason)
    assert.deepEqual(job.returnvalue, { echoed: 'hello', job: 'echo' })
  })

  test('a worker from a layer\'s server/functions/ is registered under its file name', async () => {
    const { id } = await enqueue('layered', { n: 1 })
    const job = await waitForJob(getJob, id)
    assert.equal(job.state, 'completed', job.failedReason)
    assert.deepEqual(job.returnvalue, { from: 'layer', data: { n: 1 } })
  })

  test('a worker that throws synchronously fails its job with the message', async () => {
    const { id } = await enqueue('fail', {})
    const job = await waitForJob(getJob, id)
    assert.equal(job.state, 'failed')
    assert.match(job.failedReason, /fixture failure/)
    const { counts } = await getJob(id)
    assert.ok(counts.failed >= 1 && counts.completed >= 2, JSON.stringify(counts))
  })

  test('store round trips: kv, index, event stream', async () => {
    const r = await $fetch('/api/store', { method: 'POST', body: { suffix: 'memory' } })
    assert.deepEqual(r.kv, r.value)
    assert.deepEqual(Object.keys(r.kv.nested), ['b', 'a'])
    assert.deepEqual(r.entry, { id: 'a', score: 10, metadata: { status: 'seen', stats: { n: 2 }, version: 1 } })
    assert.equal(r.events.length, 1)
    assert.deepEqual(r.events[0], r.appended)
    assert.equal(r.appended.type, 'fixture.event')
    assert.match(r.appended.id, /^\d+-\d+$/)
  })

  test('SSE: a published event arrives as data: JSON, and a disconnect unsubscribes', async () => {
    const topic = 'fixture:sse'
    const sse = await openEventStream(url(`/api/_nvent/stream?topic=${encodeURIComponent(topic)}`))
    try {
      assert.equal(sse.res.status, 200)
      assert.match(sse.res.headers.get('content-type'), /text\/event-stream/)
      const ready = await sse.next(m => m.event === 'nvent:subscribed')
      assert.deepEqual(JSON.parse(ready.data), { topic })
      assert.equal((await $fetch('/api/info', { query: { topic } })).subscriptions, 1)

      await $fetch('/api/publish', { method: 'POST', body: { topic, type: 'fixture.ping', data: { n: 42 } } })
      const message = await sse.next(m => m.event === 'message')
      assert.match(message.raw, /^data: \{.*\}\n\n$/)
      const event = JSON.parse(message.data)
      assert.equal(event.type, 'fixture.ping')
      assert.deepEqual(event.data, { n: 42 })
    }
    finally {
      sse.close()
    }
    await waitFor(async () => (await $fetch('/api/info', { query: { topic } })).subscriptions === 0, { what: 'the SSE subscription to end' })
  })

  test('the wiring runs: a bus event is persisted and forwarded to flow:event:{runId}', async () => {
    const runId = `run-${Date.now()}`
    const sse = await openEventStream(url(`/api/_nvent/stream?topic=${encodeURIComponent(`flow:event:${runId}`)}`))
    try {
      await sse.next(m => m.event === 'nvent:subscribed')
      await $fetch('/api/bus', { method: 'POST', body: { type: 'flow.start', runId, flowName: 'fixture-flow', data: { step: 1 } } })
      const message = JSON.parse((await sse.next(m => m.event === 'message')).data)
      assert.equal(message.type, 'flow.start')
      assert.equal(message.data.runId, runId)
      assert.equal(message.data.event.flowName, 'fixture-flow')
      assert.match(message.data.event.id, /^\d+-\d+$/)
    }
    finally {
      sse.close()
    }
    const { events } = await $fetch('/api/events', { query: { subject: `nq:flow:run:${runId}` } })
    assert.equal(events.length, 1)
    assert.deepEqual(events[0].data, { step: 1 })
  })

  test('SSE without a topic, or with an invalid one, is a 400', async () => {
    assert.equal((await fetch(url('/api/_nvent/stream'))).status, 400)
    assert.equal((await fetch(url('/api/_nvent/stream?topic=fixture:a%00b'))).status, 400)
  })

  test('SSE: a topic outside `sse.topics` is a 403, also as a broader pattern', async () => {
    for (const topic of ['other:topic', 'store-sync:append:*', '*', 'fixture*', 'flow:*']) {
      const res = await fetch(url(`/api/_nvent/stream?topic=${encodeURIComponent(topic)}`))
      assert.equal(res.status, 403, topic)
      assert.doesNotMatch(res.headers.get('content-type') ?? '', /event-stream/, topic)
    }
  })

  test('SSE: the nvent:sse:authorize hook refuses with its own error (401) and lets authorized requests in', async () => {
    const topic = 'fixture:private:a'
    assert.equal((await fetch(url(`/api/_nvent/stream?topic=${encodeURIComponent(topic)}`))).status, 401)
    assert.equal((await fetch(url(`/api/_nvent/stream?topic=${encodeURIComponent(topic)}&token=wrong`))).status, 401)
    const sse = await openEventStream(url(`/api/_nvent/stream?topic=${encodeURIComponent(topic)}&token=secret`))
    try {
      assert.equal(sse.res.status, 200)
      await sse.next(m => m.event === 'nvent:subscribed')
    }
    finally {
      sse.close()
    }
  })
})
