// The registry's `redis` built-ins (SPEC §8) on a real server: both config shapes.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createAdapters, shutdownAdapters, AdapterRegistry, RedisStoreAdapter, RedisStreamAdapter } from '../index.mjs'
import { haveRedis, startRedis } from './helpers/redis-server.mjs'
import { unique } from './helpers/expect.mjs'
import { waitFor } from './helpers/wait.mjs'

describe('redis: registry built-ins', { skip: !haveRedis() && 'redis-server not installed' }, () => {
  test('createAdapters makes working Redis store and stream adapters from either config shape', async () => {
    const server = await startRedis()
    const registry = new AdapterRegistry()
    let adapters
    try {
      adapters = await createAdapters(
        {
          queue: { adapter: 'memory' },
          stream: { adapter: 'redis', redis: { host: '127.0.0.1', port: server.port } },
          store: { type: 'redis', options: { url: server.url, prefix: 'reg' } },
        },
        registry,
      )
      assert.ok(adapters.store instanceof RedisStoreAdapter)
      assert.ok(adapters.stream instanceof RedisStreamAdapter)
      const k = unique('reg')
      await adapters.store.kv.set(k, { ok: true })
      assert.equal(await server.cmd('GET', k), '{"ok":true}')
      const got = []
      await adapters.stream.subscribe(k, (m) => got.push(m.data))
      await adapters.stream.publish(k, { type: 't', data: 1 })
      await waitFor(() => got.length === 1, { what: 'a message through the registry stream' })
    } finally {
      if (adapters) await shutdownAdapters(adapters)
      await server.close()
    }
  })

  test('constructors do no I/O: an unreachable server fails only on use', async () => {
    const store = new RedisStoreAdapter({ connection: { host: '127.0.0.1', port: 1, connectTimeout: 500, commandTimeout: 500 } })
    await assert.rejects(store.kv.get('k'), (e) => e.code === 'NVENT_BACKEND_UNAVAILABLE')
    await store.close()
    await assert.rejects(store.kv.get('k'), (e) => e.code === 'NVENT_CLOSED')
  })

  test('bad connection options are refused with NVENT_INVALID_ARGUMENT, never echoing the url', () => {
    assert.throws(() => new RedisStoreAdapter({ connection: { url: 'http://u:s3cr3t@h' } }), (e) => {
      assert.equal(e.code, 'NVENT_INVALID_ARGUMENT')
      assert.ok(!e.message.includes('s3cr3t'))
      return true
    })
    assert.throws(() => new RedisStreamAdapter({ connection: { port: 70000 } }), { code: 'NVENT_INVALID_ARGUMENT' })
  })
})
