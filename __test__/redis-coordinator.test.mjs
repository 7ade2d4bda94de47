// Two coordinator instances on one Redis (SPEC §7): each persisted event is forwarded
// once to every channel, by the instance that persisted it; no echo loops.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { EventBus, RedisStoreAdapter, RedisStreamAdapter, createStreamCoordinator } from '../index.mjs'
import { haveRedis, startRedis } from './helpers/redis-server.mjs'
import { waitFor, collector } from './helpers/wait.mjs'
import { unique, settle } from './helpers/expect.mjs'

describe('redis: coordinator instances', { skip: !haveRedis() && 'redis-server not installed' }, () => {
  test('two instances on one Redis forward each event once; no echo', async () => {
    const server = await startRedis()
    const connection = server.connection
    const make = () => ({ bus: new EventBus(), store: new RedisStoreAdapter({ connection }), stream: new RedisStreamAdapter({ connection }) })
    const a = make()
    const b = make()
    const observer = new RedisStreamAdapter({ connection })
    const prefix = unique('nv')
    const ca = createStreamCoordinator({ ...a, prefix })
    const cb = createStreamCoordinator({ ...b, prefix })
    await ca.start()
    await cb.start()
    try {
      const runId = unique('run')
      const subject = `${prefix}:flow:run:${runId}`
      const topics = [`store-sync:append:${subject}`, `flow:event:${runId}`, `client:flow:${runId}`, `${prefix}:stream:flow:events:${runId}`]
      const got = []
      for (const t of topics) {
        const c = collector()
        await observer.subscribe(t, c.push)
        got.push(c)
      }
      a.bus.publish({ type: 'flow.start', runId, flowName: 'f' })
      b.bus.publish({ type: 'step.started', runId, flowName: 'f', stepName: 's' })
      for (const c of got) await c.until(2)
      await settle(300)
      for (const [i, c] of got.entries()) assert.equal(c.items.length, 2, `${topics[i]} got each event once`)
      assert.equal(new Set(got[0].items.map((m) => m.metadata.instanceId)).size, 2, 'one from each instance')
      await waitFor(async () => (await a.store.stream.count(subject)) === 2, { what: 'both events persisted once' })
      assert.equal(await b.store.stream.count(subject), 2)
    } finally {
      await ca.stop()
      await cb.stop()
      for (const x of [a, b]) {
        await x.stream.shutdown()
        await x.store.close()
      }
      await observer.shutdown()
      await server.close()
    }
  })
})
