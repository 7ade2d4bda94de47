// Config resolution (src/runtime/config.ts): defaults, connection fallbacks, env, and the
// runtimeConfig placeholders that let NUXT_NVENT_* override every field.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createJiti } from 'jiti'

const jiti = createJiti(import.meta.url)
const { resolveNventConfig, toRuntimeOptions, moduleDefaults, coordinatorOptions, sseOptions, topicAllowed, fromNventConfig, engineSelections } = await jiti.import('../../src/runtime/config.ts')

describe('defaults', () => {
  test('no options: file queue and store, memory stream, data under .data, redis on 127.0.0.1:6379', () => {
    const c = resolveNventConfig({}, {})
    assert.equal(c.queue.adapter, 'file')
    assert.equal(c.stream.adapter, 'memory')
    assert.equal(c.store.adapter, 'file')
    assert.deepEqual(c.queue.file, { dataDir: '.data/queue' })
    assert.deepEqual(c.store.file, { dataDir: '.data/store' })
    for (const kind of ['queue', 'stream', 'store']) assert.deepEqual(c[kind].redis, { host: '127.0.0.1', port: 6379 })
    assert.deepEqual(c.wiring.streamCoordinator, { enableStoreSync: true, enableFlowEvents: true, enableClientMessages: true, prefix: 'nq' })
  })

  test("nvent.values is every adapter's values mode (default 'json')", () => {
    for (const kind of ['queue', 'stream', 'store']) assert.equal(resolveNventConfig({}, {})[kind].values, 'json')
    const c = resolveNventConfig({ values: 'strict' }, {})
    for (const kind of ['queue', 'stream', 'store']) assert.equal(c[kind].values, 'strict')
    assert.equal(toRuntimeOptions({}).values, 'json', 'present in runtimeConfig, so NUXT_NVENT_VALUES can override it')
  })

  test('undefined options behave like {}', () => {
    assert.deepEqual(resolveNventConfig(undefined, undefined), resolveNventConfig({}, {}))
  })

  test('adapter choice and extra adapter options are kept', () => {
    const c = resolveNventConfig({
      queue: { adapter: 'memory', prefix: 'app', defaultJobOptions: { attempts: 3 }, worker: { concurrency: 4 } },
      stream: { adapter: 'custom-stream' },
      store: { adapter: 'redis', streams: { trim: { maxLen: 100, approx: true } } },
    })
    assert.equal(c.queue.adapter, 'memory')
    assert.equal(c.queue.prefix, 'app')
    assert.deepEqual(c.queue.defaultJobOptions, { attempts: 3 })
    assert.deepEqual(c.queue.worker, { concurrency: 4 })
    assert.equal(c.stream.adapter, 'custom-stream')
    assert.deepEqual(c.store.streams, { trim: { maxLen: 100, approx: true } })
  })

  test('wiring flags map onto coordinator channels', () => {
    const c = resolveNventConfig({ wiring: { streamCoordinator: { enableStoreSync: false, prefix: 'x' } } })
    assert.deepEqual(coordinatorOptions(c), { prefix: 'x', channels: { storeSync: false, flowEvents: true, clientMessages: true } })
  })

  test('the SSE route is off unless topics are given (SPEC §10)', () => {
    assert.equal(sseOptions(moduleDefaults()), null)
    assert.equal(sseOptions({}), null)
    assert.equal(sseOptions({ sse: false }), null)
    assert.deepEqual(sseOptions({ sse: { topics: ['a:*'] } }), { route: '/api/_nvent/stream', topics: ['a:*'] })
    assert.deepEqual(sseOptions({ sse: { route: '/events', topics: ['x'] } }), { route: '/events', topics: ['x'] })
    assert.throws(() => sseOptions({ sse: { route: '/events' } }), /sse\.topics/)
    assert.throws(() => sseOptions({ sse: { topics: [] } }), /sse\.topics/)
    assert.throws(() => sseOptions({ sse: { topics: [''] } }), /sse\.topics/)
  })

  test('SSE topic allow-list: `*` matches any run; a requested pattern passes only inside an allowed one', () => {
    const allowed = ['flow:event:*', 'client:flow:*:x', 'exact']
    for (const t of ['flow:event:1', 'flow:event:', 'flow:event:*', 'flow:event:a*b', 'client:flow:1:x', 'client:flow:a:b:x', 'exact']) assert.ok(topicAllowed(t, allowed), t)
    for (const t of ['flow:event', 'flow:*', '*', 'client:flow:1:y', 'client:flow:*', 'exactly', 'xexact', 'store-sync:append:*']) assert.ok(!topicAllowed(t, allowed), t)
    assert.ok(topicAllowed('anything', ['*']))
    assert.ok(!topicAllowed('a'.repeat(5000), ['*a*a*a*a*a*b']), 'no match, and no exponential backtracking')
  })

  test('the resolver does not mutate its input', () => {
    const options = { queue: { adapter: 'redis', redis: { port: 1 } }, connections: { redis: { host: 'h' } } }
    const copy = structuredClone(options)
    resolveNventConfig(options, { REDIS_PASSWORD: 'p' })
    assert.deepEqual(options, copy)
  })
})

describe('redis connection fallback', () => {
  test('X.redis <- connections.redis <- REDIS_* <- default, field by field', () => {
    const c = resolveNventConfig({
      queue: { redis: { db: 2 } },
      connections: { redis: { host: 'shared', password: 'from-config' } },
    }, { REDIS_HOST: 'env-host', REDIS_PORT: '6380', REDIS_PASSWORD: 'from-env', REDIS_USERNAME: 'env-user' })
    assert.deepEqual(c.queue.redis, { host: 'shared', port: 6380, password: 'from-config', username: 'env-user', db: 2 })
    assert.deepEqual(c.stream.redis, { host: 'shared', port: 6380, password: 'from-config', username: 'env-user' })
  })

  test('REDIS_URL is used when no config names an endpoint', () => {
    const c = resolveNventConfig({ store: { adapter: 'redis' } }, { REDIS_URL: 'rediss://u:p@cache:6390/1' })
    assert.deepEqual(c.store.redis, { url: 'rediss://u:p@cache:6390/1' })
  })

  test('REDIS_HOST, REDIS_PORT, REDIS_DB from env; numbers are parsed', () => {
    const c = resolveNventConfig({}, { REDIS_HOST: 'h', REDIS_PORT: '7000', REDIS_DB: '3' })
    assert.deepEqual(c.queue.redis, { host: 'h', port: 7000, db: 3 })
  })

  test('a bad REDIS_PORT is an error naming the variable', () => {
    assert.throws(() => resolveNventConfig({}, { REDIS_PORT: 'sixty' }), /REDIS_PORT/)
  })

  test('a host in config beats REDIS_URL in env; a url in config beats REDIS_HOST', () => {
    const byHost = resolveNventConfig({ connections: { redis: { host: 'cfg' } } }, { REDIS_URL: 'redis://env:1' })
    assert.deepEqual(byHost.queue.redis, { host: 'cfg', port: 6379 })
    const byUrl = resolveNventConfig({ connections: { redis: { url: 'redis://cfg:2' } } }, { REDIS_HOST: 'env', REDIS_PORT: '9' })
    assert.deepEqual(byUrl.queue.redis, { url: 'redis://cfg:2' })
  })

  test('a more specific host beats a shared url, and the other way round', () => {
    const c = resolveNventConfig({
      queue: { redis: { host: 'own' } },
      stream: { redis: { url: 'redis://own-url' } },
      connections: { redis: { url: 'redis://shared' } },
    })
    assert.deepEqual(c.queue.redis, { host: 'own', port: 6379 })
    assert.deepEqual(c.stream.redis, { url: 'redis://own-url' })
    assert.deepEqual(c.store.redis, { url: 'redis://shared' })
  })

  test('extra connection fields (tls, timeouts) pass through', () => {
    const c = resolveNventConfig({ connections: { redis: { host: 'h', tls: true, commandTimeout: 100 } } })
    assert.deepEqual(c.store.redis, { host: 'h', port: 6379, tls: true, commandTimeout: 100 })
  })
})

describe('file data dir fallback', () => {
  test('connections.file.dataDir + /queue and /store', () => {
    const c = resolveNventConfig({ connections: { file: { dataDir: '/var/lib/app/' } } })
    assert.deepEqual(c.queue.file, { dataDir: '/var/lib/app/queue' })
    assert.deepEqual(c.store.file, { dataDir: '/var/lib/app/store' })
  })

  test('X.file.dataDir wins; shared durability is inherited, own durability wins', () => {
    const c = resolveNventConfig({
      queue: { file: { dataDir: '/q' } },
      store: { file: { durability: 'always' } },
      connections: { file: { dataDir: '/d', durability: 'none' } },
    })
    assert.deepEqual(c.queue.file, { dataDir: '/q', durability: 'none' })
    assert.deepEqual(c.store.file, { dataDir: '/d/store', durability: 'always' })
  })
})

describe('runtimeConfig (NUXT_NVENT_* overrides)', () => {
  test('every overridable field exists, connection fields as empty placeholders', () => {
    const r = toRuntimeOptions({ queue: { adapter: 'memory' } })
    assert.equal(r.queue.adapter, 'memory')
    assert.equal(r.stream.adapter, 'memory')
    assert.equal(r.store.adapter, 'file')
    for (const redis of [r.queue.redis, r.stream.redis, r.store.redis, r.connections.redis]) {
      assert.deepEqual(redis, { url: '', host: '', port: 0, username: '', password: '', db: 0 })
    }
    for (const file of [r.queue.file, r.store.file, r.connections.file]) assert.deepEqual(file, { dataDir: '' })
    assert.equal(r.sse, undefined, 'build-only options stay out of runtimeConfig')
    assert.equal(r.dir, undefined)
  })

  test('placeholders resolve exactly like the options they came from', () => {
    const options = {
      queue: { adapter: 'redis', redis: { db: 1 } },
      connections: { redis: { host: 'h' }, file: { dataDir: '/data' } },
    }
    const env = { REDIS_PASSWORD: 'pw' }
    assert.deepEqual(resolveNventConfig(toRuntimeOptions(options), env), resolveNventConfig(options, env))
  })

  test('values set over placeholders (as Nuxt does for NUXT_NVENT_*) win, and the fallback chain still applies', () => {
    const r = toRuntimeOptions({})
    // NUXT_NVENT_QUEUE_ADAPTER=memory, NUXT_NVENT_CONNECTIONS_REDIS_HOST=redis.internal,
    // NUXT_NVENT_CONNECTIONS_REDIS_PORT=6390, NUXT_NVENT_CONNECTIONS_FILE_DATA_DIR=/srv/nvent
    r.queue.adapter = 'memory'
    r.connections.redis.host = 'redis.internal'
    r.connections.redis.port = 6390
    r.connections.file.dataDir = '/srv/nvent'
    const c = resolveNventConfig(r, { REDIS_PASSWORD: 'server-secret' })
    assert.equal(c.queue.adapter, 'memory')
    assert.deepEqual(c.store.redis, { host: 'redis.internal', port: 6390, password: 'server-secret' })
    assert.deepEqual(c.store.file, { dataDir: '/srv/nvent/store' })
  })

  test('the build machine\'s REDIS_* never reaches runtimeConfig', () => {
    const r = toRuntimeOptions({})
    assert.ok(!JSON.stringify(r).includes('127.0.0.1'), 'defaults are applied at server start, not baked in')
  })
})

describe('inside nvent: nvent\'s config to the engine\'s', () => {
  // What nvent 0.5's normalizeModuleOptions puts into runtimeConfig.nvent for its file config.
  const nventFile = {
    debug: {},
    queue: { adapter: 'file', prefix: 'nvent', schema: 'nvent_queue', defaultJobOptions: {}, worker: { concurrency: 2, autorun: true, pollingIntervalMs: 500 }, file: { dataDir: '.data-test' } },
    stream: { adapter: 'file', prefix: 'nvent' },
    store: { adapter: 'file', prefix: 'nq-test', schema: 'nvent_store', state: { autoScope: 'always' }, eventTTL: 604800, file: { dataDir: '.data-test' } },
    connections: { file: { dataDir: '.data' } },
    flow: { stepTimeout: 300000 },
    webhooks: {},
  }

  test('adapters and data dirs as nvent resolved them; nvent-only keys dropped', () => {
    const c = fromNventConfig(nventFile, {})
    assert.equal(c.queue.adapter, 'file')
    assert.deepEqual(c.queue.file, { dataDir: '.data-test' })
    assert.deepEqual(c.queue.worker, { concurrency: 2, autorun: true, pollingIntervalMs: 500 })
    assert.equal(c.queue.schema, undefined)
    assert.equal(c.store.prefix, 'nq-test')
    assert.equal(c.store.eventTTL, undefined)
    assert.deepEqual(c.store.file, { dataDir: '.data-test' })
    assert.deepEqual(engineSelections(c), [{ kind: 'queue', name: 'file' }, { kind: 'stream', name: 'file' }, { kind: 'store', name: 'file' }])
  })

  test('connections.* and REDIS_* fall back as in standalone; kinds the engine lacks stay nvent\'s', () => {
    const c = fromNventConfig({ queue: { adapter: 'redis' }, stream: { adapter: 'rabbitmq' }, store: { adapter: 'postgres' }, connections: { redis: { host: 'shared' }, postgres: { connectionString: 'x' } } }, { REDIS_PASSWORD: 'pw' })
    assert.deepEqual(c.queue.redis, { host: 'shared', port: 6379, password: 'pw' })
    assert.deepEqual(engineSelections(c), [{ kind: 'queue', name: 'redis' }])
    assert.deepEqual(engineSelections(fromNventConfig(undefined, {})), [{ kind: 'queue', name: 'file' }, { kind: 'stream', name: 'memory' }, { kind: 'store', name: 'file' }])
  })
})
