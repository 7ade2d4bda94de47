// The stream coordinator (SPEC §7): persistence of ingress bus events, the three channels
// (store-sync, flow-events, client-messages) and their switches, instanceId and no echo
// loops, start/stop, the wiring registry, and a plain JS object as the stream adapter.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  EventBus,
  MemoryStoreAdapter,
  MemoryStreamAdapter,
  createStreamCoordinator,
  createWiringRegistry,
} from '../index.mjs'
import { waitFor, collector } from './helpers/wait.mjs'
import { unique, settle } from './helpers/expect.mjs'

const LIFECYCLE = ['flow.start', 'flow.completed', 'flow.failed', 'flow.cancel', 'step.started', 'step.completed', 'step.failed', 'emit']

/** A fresh bus, store, stream and prefix; `close()` releases them. */
function rig() {
  const bus = new EventBus()
  const store = new MemoryStoreAdapter()
  const stream = new MemoryStreamAdapter()
  const prefix = unique('nv')
  const runId = unique('run')
  return {
    bus,
    store,
    stream,
    prefix,
    runId,
    subject: `${prefix}:flow:run:${runId}`,
    async listen(topic) {
      const got = collector()
      await stream.subscribe(topic, got.push)
      return got
    },
    async close() {
      await stream.shutdown()
      await store.close()
    },
  }
}

async function withCoordinator(opts, fn) {
  const r = rig()
  const coordinator = createStreamCoordinator({ bus: r.bus, store: r.store, stream: r.stream, prefix: r.prefix, ...opts })
  await coordinator.start()
  try {
    await fn(r, coordinator)
  } finally {
    await coordinator.stop()
    await r.close()
  }
}

async function persisted(r, n = 1, subject = r.subject) {
  return waitFor(async () => {
    const recs = await r.store.stream.read(subject)
    return recs.length >= n && recs
  }, { what: `${n} persisted events in ${subject}` })
}

/**
 * A stream adapter written as a plain JS object (SPEC §8: any object implementing the API),
 * with `*` wildcards and asynchronous delivery like a real one.
 */
function jsStreamAdapter() {
  const subs = new Map()
  const published = []
  let next = 0
  const matches = (pattern, topic) =>
    new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(topic)
  const adapter = {
    published,
    closed: false,
    async init() {},
    async publish(topic, event) {
      const message = JSON.parse(JSON.stringify({ timestamp: Date.now(), ...event }))
      published.push({ topic, event: message })
      for (const s of subs.values()) {
        if (matches(s.topic, topic)) setImmediate(() => Promise.resolve().then(() => s.handler(message)).catch(() => {}))
      }
    },
    async subscribe(topic, handler) {
      const id = String(++next)
      subs.set(id, { topic, handler })
      return { id, topic, unsubscribe: async () => void subs.delete(id) }
    },
    async unsubscribe(handle) {
      subs.delete(handle.id)
    },
    async listTopics() {
      return [...new Set([...subs.values()].map((s) => s.topic))]
    },
    async getSubscriptionCount(topic) {
      return [...subs.values()].filter((s) => s.topic === topic).length
    },
    async shutdown() {
      adapter.closed = true
      subs.clear()
    },
    async close() {
      return adapter.shutdown()
    },
  }
  return adapter
}

describe('coordinator: persistence', () => {
  test('an ingress event (runId, no id/ts) is appended to {prefix}:flow:run:{runId}', async () => {
    await withCoordinator({}, async (r) => {
      r.bus.publish({ type: 'flow.start', runId: r.runId, flowName: 'f', data: { input: '123', n: 0 } })
      const [rec] = await persisted(r)
      assert.equal(typeof rec.id, 'string')
      assert.equal(typeof rec.ts, 'number')
      assert.equal(rec.type, 'flow.start')
      assert.equal(rec.runId, r.runId)
      assert.equal(rec.flowName, 'f')
      assert.deepEqual(rec.data, { input: '123', n: 0 })
    })
  })

  // nvent's flow events leave stepName/stepId undefined (flow.start, emit); publish used to
  // throw NVENT_NOT_SERIALIZABLE for them, so they never reached the store or the UI.
  test('a flow event with undefined stepName, stepId and data fields is persisted as JSON.stringify writes it', async () => {
    await withCoordinator({}, async (r) => {
      const flowEvents = await r.listen(`flow:event:${r.runId}`)
      r.bus.publish({ type: 'flow.start', runId: r.runId, flowName: 'f', stepName: undefined, stepId: undefined, data: { input: undefined, duration: NaN } })
      const [rec] = await persisted(r)
      assert.ok(!('stepName' in rec) && !('stepId' in rec))
      assert.deepEqual(rec.data, { duration: null })
      const [m] = await flowEvents.until(1)
      assert.deepEqual(m.data.event, rec)
    })
  })

  test('the stored record is re-published on the bus', async () => {
    await withCoordinator({}, async (r) => {
      const seen = collector()
      r.bus.onType('step.completed', seen.push)
      r.bus.publish({ type: 'step.completed', runId: r.runId, flowName: 'f', stepName: 's', data: { ok: true } })
      const [rec] = await persisted(r)
      await waitFor(() => seen.items.some((e) => e.id), { what: 'the record on the bus' })
      assert.deepEqual(seen.items.find((e) => e.id), rec)
      assert.ok(!('id' in seen.items[0]), 'the ingress event came first, without an id')
    })
  })

  test('each ingress event is persisted exactly once (no loop through the re-published record)', async () => {
    await withCoordinator({}, async (r) => {
      for (let i = 0; i < 3; i++) r.bus.publish({ type: 'flow.start', runId: r.runId, flowName: 'f', data: i })
      await persisted(r, 3)
      await settle(200)
      const recs = await r.store.stream.read(r.subject)
      assert.deepEqual(recs.map((e) => e.data), [0, 1, 2], 'persisted once each, in order')
    })
  })

  test('an event that already has id and ts is not persisted again', async () => {
    await withCoordinator({}, async (r) => {
      const got = await r.listen(`flow:event:${r.runId}`)
      r.bus.publish({ type: 'flow.completed', runId: r.runId, flowName: 'f', id: '1700000000000-0', ts: 1700000000000 })
      await got.until(1)
      await settle()
      assert.equal(await r.store.stream.count(r.subject), 0)
    })
  })

  test('an event without runId is not persisted as a flow event', async () => {
    await withCoordinator({}, async (r) => {
      const syncs = await r.listen('store-sync:append:*')
      const seen = collector()
      r.bus.onType('flow.start', seen.push)
      r.bus.publish({ type: 'flow.start', flowName: 'f' })
      await settle(200)
      assert.equal(syncs.items.length, 0)
      assert.equal(seen.items.length, 1, 'no stored record was re-published')
      assert.equal(await r.store.stream.count(`${r.prefix}:flow:run:undefined`), 0)
    })
  })

  test('persistence happens with every channel switched off', async () => {
    await withCoordinator({ channels: { storeSync: false, flowEvents: false, clientMessages: false } }, async (r) => {
      r.bus.publish({ type: 'flow.start', runId: r.runId, flowName: 'f' })
      await persisted(r)
    })
  })
})

describe('coordinator: channels', () => {
  test('store-sync: a persisted event goes to store-sync:append:{subject} as store.append', async () => {
    await withCoordinator({}, async (r) => {
      const got = await r.listen(`store-sync:append:${r.subject}`)
      r.bus.publish({ type: 'flow.start', runId: r.runId, flowName: 'f', data: { x: 1 } })
      const [rec] = await persisted(r)
      await got.until(1)
      const [msg] = got.items
      assert.equal(msg.type, 'store.append')
      assert.equal(msg.data.subject, r.subject)
      assert.deepEqual(msg.data.event, rec)
      assert.equal(typeof msg.metadata.instanceId, 'string')
    })
  })

  test('flow-events: lifecycle events go to flow:event:{runId} as { type, data: { runId, event } }', async () => {
    await withCoordinator({}, async (r) => {
      const got = await r.listen(`flow:event:${r.runId}`)
      for (const type of LIFECYCLE) r.bus.publish({ type, runId: r.runId, flowName: 'f' })
      const recs = await persisted(r, LIFECYCLE.length)
      await got.until(LIFECYCLE.length)
      assert.deepEqual(got.items.map((m) => m.type), LIFECYCLE)
      for (const [i, msg] of got.items.entries()) {
        assert.equal(msg.data.runId, r.runId)
        assert.deepEqual(msg.data.event, recs[i])
      }
    })
  })

  test('flow-events: other flow events do not go to flow:event:{runId}', async () => {
    await withCoordinator({}, async (r) => {
      const flow = await r.listen(`flow:event:${r.runId}`)
      const client = await r.listen(`client:flow:${r.runId}`)
      r.bus.publish({ type: 'log', runId: r.runId, flowName: 'f', data: 'hello' })
      r.bus.publish({ type: 'custom.note', runId: r.runId, flowName: 'f' })
      r.bus.publish({ type: 'flow.completed', runId: r.runId, flowName: 'f' })
      await client.until(3)
      await flow.until(1)
      await settle()
      assert.deepEqual(flow.items.map((m) => m.type), ['flow.completed'])
    })
  })

  test('client-messages: every persisted flow event goes to client:flow:{runId} as flow.event', async () => {
    await withCoordinator({}, async (r) => {
      const got = await r.listen(`client:flow:${r.runId}`)
      r.bus.publish({ type: 'flow.start', runId: r.runId, flowName: 'f' })
      r.bus.publish({ type: 'log', runId: r.runId, flowName: 'f', data: 'x' })
      const recs = await persisted(r, 2)
      await got.until(2)
      assert.deepEqual(got.items.map((m) => m.type), ['flow.event', 'flow.event'])
      assert.deepEqual(got.items.map((m) => m.data.event), recs)
    })
  })

  test('client-messages: every persisted flow event also goes to {prefix}:stream:flow:events:{runId}', async () => {
    await withCoordinator({}, async (r) => {
      const got = await r.listen(`${r.prefix}:stream:flow:events:${r.runId}`)
      r.bus.publish({ type: 'step.started', runId: r.runId, flowName: 'f', stepName: 's' })
      const [rec] = await persisted(r)
      await got.until(1)
      assert.equal(got.items[0].type, 'flow.event')
      assert.deepEqual(got.items[0].data.event, rec)
    })
  })

  test('client-messages: trigger events are persisted to {prefix}:trigger:event:{name} and sent to {prefix}:stream:trigger:events:{name}', async () => {
    await withCoordinator({}, async (r) => {
      const name = unique('trigger')
      const got = await r.listen(`${r.prefix}:stream:trigger:events:${name}`)
      r.bus.publish({ type: 'trigger.fired', triggerName: name, name, data: { triggerName: name, name, payload: 1 } })
      const [rec] = await persisted(r, 1, `${r.prefix}:trigger:event:${name}`)
      assert.equal(rec.type, 'trigger.fired')
      await got.until(1)
      assert.ok(JSON.stringify(got.items[0]).includes(rec.id), 'the message carries the stored record')
      assert.equal(typeof got.items[0].metadata.instanceId, 'string')
    })
  })

  test('client-messages: flow.stats.updated goes to {prefix}:stream:flow:stats', async () => {
    await withCoordinator({}, async (r) => {
      const marker = unique('stats')
      const got = await r.listen(`${r.prefix}:stream:flow:stats`)
      r.bus.publish({ type: 'flow.stats.updated', flowName: marker, id: '1700000000000-0', ts: 1700000000000, data: { flowName: marker, total: 3 } })
      await got.until(1)
      assert.ok(JSON.stringify(got.items[0]).includes(marker))
      assert.equal(typeof got.items[0].metadata.instanceId, 'string')
    })
  })

  test('a record published on the bus by someone else (id and ts) is forwarded', async () => {
    await withCoordinator({}, async (r) => {
      const got = await r.listen(`flow:event:${r.runId}`)
      const rec = { id: '1700000000000-3', ts: 1700000000000, type: 'flow.failed', runId: r.runId, flowName: 'f' }
      r.bus.publish(rec)
      await got.until(1)
      assert.deepEqual(got.items[0].data, { runId: r.runId, event: rec })
    })
  })

  test('every coordinator message carries metadata.instanceId, the same for one coordinator', async () => {
    await withCoordinator({}, async (r) => {
      const all = await r.listen('*')
      r.bus.publish({ type: 'flow.start', runId: r.runId, flowName: 'f' })
      await all.until(4)
      await settle()
      const ids = new Set(all.items.map((m) => m.metadata && m.metadata.instanceId))
      assert.equal(ids.size, 1)
      assert.equal(typeof [...ids][0], 'string')
    })
  })

  for (const [channel, off, on] of [
    ['storeSync', (r) => `store-sync:append:${r.subject}`, (r) => `flow:event:${r.runId}`],
    ['flowEvents', (r) => `flow:event:${r.runId}`, (r) => `client:flow:${r.runId}`],
    ['clientMessages', (r) => `client:flow:${r.runId}`, (r) => `flow:event:${r.runId}`],
  ]) {
    test(`channels.${channel}: false switches that channel off only`, async () => {
      await withCoordinator({ channels: { [channel]: false } }, async (r) => {
        const silent = await r.listen(off(r))
        const control = await r.listen(on(r))
        r.bus.publish({ type: 'flow.start', runId: r.runId, flowName: 'f' })
        await control.until(1)
        await settle()
        assert.equal(silent.items.length, 0)
      })
    })
  }

  test('channels.clientMessages: false also silences the reference topics', async () => {
    await withCoordinator({ channels: { clientMessages: false } }, async (r) => {
      const ref = await r.listen(`${r.prefix}:stream:flow:events:${r.runId}`)
      const stats = await r.listen(`${r.prefix}:stream:flow:stats`)
      const control = await r.listen(`flow:event:${r.runId}`)
      r.bus.publish({ type: 'flow.start', runId: r.runId, flowName: 'f' })
      r.bus.publish({ type: 'flow.stats.updated', flowName: 'f', id: '1-0', ts: 1 })
      await control.until(1)
      await settle()
      assert.equal(ref.items.length, 0)
      assert.equal(stats.items.length, 0)
    })
  })

  test('every channel is on by default', async () => {
    await withCoordinator({}, async (r) => {
      const topics = [`store-sync:append:${r.subject}`, `flow:event:${r.runId}`, `client:flow:${r.runId}`, `${r.prefix}:stream:flow:events:${r.runId}`]
      const got = await Promise.all(topics.map((t) => r.listen(t)))
      r.bus.publish({ type: 'flow.completed', runId: r.runId, flowName: 'f' })
      for (const c of got) await c.until(1)
    })
  })
})

describe('coordinator: instances, start and stop', () => {
  test('two instances on one stream forward each event once; no echo loops', async () => {
    const shared = new MemoryStreamAdapter()
    const a = rig()
    const b = rig()
    const prefix = a.prefix
    const ca = createStreamCoordinator({ bus: a.bus, store: a.store, stream: shared, prefix })
    const cb = createStreamCoordinator({ bus: b.bus, store: b.store, stream: shared, prefix })
    await ca.start()
    await cb.start()
    try {
      const runId = a.runId
      const subject = `${prefix}:flow:run:${runId}`
      const topics = [`store-sync:append:${subject}`, `flow:event:${runId}`, `client:flow:${runId}`, `${prefix}:stream:flow:events:${runId}`]
      const got = []
      for (const t of topics) {
        const c = collector()
        await shared.subscribe(t, c.push)
        got.push(c)
      }
      a.bus.publish({ type: 'flow.start', runId, flowName: 'f' })
      for (const c of got) await c.until(1)
      await settle(300)
      for (const [i, c] of got.entries()) assert.equal(c.items.length, 1, `${topics[i]} got one message`)
      const instanceIds = new Set(got.map((c) => c.items[0].metadata.instanceId))
      assert.equal(instanceIds.size, 1, 'all from instance A')
      assert.equal(await b.store.stream.count(subject), 0, 'B did not persist A\'s event')
    } finally {
      await ca.stop()
      await cb.stop()
      await shared.shutdown()
      await a.close()
      await b.close()
    }
  })

  test('two coordinators have different instance ids', async () => {
    const shared = new MemoryStreamAdapter()
    const a = rig()
    const b = rig()
    const ca = createStreamCoordinator({ bus: a.bus, store: a.store, stream: shared, prefix: a.prefix })
    const cb = createStreamCoordinator({ bus: b.bus, store: b.store, stream: shared, prefix: b.prefix })
    await ca.start()
    await cb.start()
    try {
      const ga = collector()
      const gb = collector()
      await shared.subscribe(`flow:event:${a.runId}`, ga.push)
      await shared.subscribe(`flow:event:${b.runId}`, gb.push)
      a.bus.publish({ type: 'flow.start', runId: a.runId, flowName: 'f' })
      b.bus.publish({ type: 'flow.start', runId: b.runId, flowName: 'f' })
      await ga.until(1)
      await gb.until(1)
      assert.notEqual(ga.items[0].metadata.instanceId, gb.items[0].metadata.instanceId)
    } finally {
      await ca.stop()
      await cb.stop()
      await shared.shutdown()
      await a.close()
      await b.close()
    }
  })

  test('after stop() nothing is persisted or forwarded', async () => {
    const r = rig()
    const c = createStreamCoordinator({ bus: r.bus, store: r.store, stream: r.stream, prefix: r.prefix })
    await c.start()
    await c.stop()
    try {
      const all = await r.listen('*')
      r.bus.publish({ type: 'flow.start', runId: r.runId, flowName: 'f' })
      await settle(200)
      assert.equal(await r.store.stream.count(r.subject), 0)
      assert.equal(all.items.length, 0)
    } finally {
      await r.close()
    }
  })

  test('a coordinator can start again after stop', async () => {
    const r = rig()
    const c = createStreamCoordinator({ bus: r.bus, store: r.store, stream: r.stream, prefix: r.prefix })
    await c.start()
    await c.stop()
    await c.start()
    try {
      r.bus.publish({ type: 'flow.start', runId: r.runId, flowName: 'f' })
      await persisted(r)
    } finally {
      await c.stop()
      await r.close()
    }
  })
})

describe('coordinator: wiring registry', () => {
  for (const shape of ['nested { streamCoordinator }', 'flat']) {
    test(`createWiringRegistry takes the coordinator options (${shape})`, async () => {
      const r = rig()
      const opts = { bus: r.bus, store: r.store, stream: r.stream, prefix: r.prefix }
      const wiring = createWiringRegistry(shape === 'flat' ? opts : { streamCoordinator: opts })
      await wiring.start()
      try {
        const got = await r.listen(`flow:event:${r.runId}`)
        r.bus.publish({ type: 'flow.start', runId: r.runId, flowName: 'f' })
        await persisted(r)
        await got.until(1)
      } finally {
        await wiring.stop()
        await r.close()
      }
    })
  }

  test('createWiringRegistry passes channel switches on', async () => {
    const r = rig()
    const wiring = createWiringRegistry({ streamCoordinator: { bus: r.bus, store: r.store, stream: r.stream, prefix: r.prefix, channels: { flowEvents: false } } })
    await wiring.start()
    try {
      const flow = await r.listen(`flow:event:${r.runId}`)
      const client = await r.listen(`client:flow:${r.runId}`)
      r.bus.publish({ type: 'flow.start', runId: r.runId, flowName: 'f' })
      await client.until(1)
      await settle()
      assert.equal(flow.items.length, 0)
    } finally {
      await wiring.stop()
      await r.close()
    }
  })

  test('start() twice wires once: each event is persisted and forwarded once', async () => {
    const r = rig()
    const wiring = createWiringRegistry({ streamCoordinator: { bus: r.bus, store: r.store, stream: r.stream, prefix: r.prefix } })
    await wiring.start()
    await wiring.start()
    try {
      const got = await r.listen(`flow:event:${r.runId}`)
      r.bus.publish({ type: 'flow.start', runId: r.runId, flowName: 'f' })
      await persisted(r)
      await got.until(1)
      await settle(200)
      assert.equal(await r.store.stream.count(r.subject), 1)
      assert.equal(got.items.length, 1)
    } finally {
      await wiring.stop()
      await r.close()
    }
  })

  test('stop() twice is harmless and stops all wiring', async () => {
    const r = rig()
    const wiring = createWiringRegistry({ streamCoordinator: { bus: r.bus, store: r.store, stream: r.stream, prefix: r.prefix } })
    await wiring.start()
    await wiring.stop()
    await wiring.stop()
    try {
      r.bus.publish({ type: 'flow.start', runId: r.runId, flowName: 'f' })
      await settle(200)
      assert.equal(await r.store.stream.count(r.subject), 0)
    } finally {
      await r.close()
    }
  })
})

describe('coordinator: JS stream adapter', () => {
  test('a plain JS object stream adapter receives the coordinator messages', async () => {
    const bus = new EventBus()
    const store = new MemoryStoreAdapter()
    const stream = jsStreamAdapter()
    const prefix = unique('nv')
    const runId = unique('run')
    const subject = `${prefix}:flow:run:${runId}`
    const c = createStreamCoordinator({ bus, store, stream, prefix })
    await c.start()
    try {
      bus.publish({ type: 'flow.start', runId, flowName: 'f', data: { x: 1 } })
      const expected = [`store-sync:append:${subject}`, `flow:event:${runId}`, `client:flow:${runId}`, `${prefix}:stream:flow:events:${runId}`]
      await waitFor(() => expected.every((t) => stream.published.some((p) => p.topic === t)), { what: 'messages on all four topics' })
      const [rec] = await store.stream.read(subject)
      const by = (t) => stream.published.filter((p) => p.topic === t).map((p) => p.event)
      assert.deepEqual(by(`store-sync:append:${subject}`)[0].data, { subject, event: rec })
      assert.deepEqual(by(`flow:event:${runId}`)[0].data, { runId, event: rec })
      assert.equal(by(`flow:event:${runId}`)[0].type, 'flow.start')
      assert.deepEqual(by(`client:flow:${runId}`)[0].data, { event: rec })
      for (const p of stream.published) assert.equal(typeof p.event.metadata.instanceId, 'string')
      await settle(200)
      for (const t of expected) assert.equal(by(t).length, 1, `${t} once`)
    } finally {
      await c.stop()
      await stream.shutdown()
      await store.close()
    }
  })

  test('two coordinators on one JS stream adapter do not echo', async () => {
    const stream = jsStreamAdapter()
    const prefix = unique('nv')
    const runId = unique('run')
    const parts = [0, 1].map(() => ({ bus: new EventBus(), store: new MemoryStoreAdapter() }))
    const cs = parts.map((p) => createStreamCoordinator({ ...p, stream, prefix }))
    for (const c of cs) await c.start()
    try {
      parts[0].bus.publish({ type: 'flow.completed', runId, flowName: 'f' })
      await waitFor(() => stream.published.some((p) => p.topic === `flow:event:${runId}`), { what: 'the flow event' })
      await settle(300)
      assert.equal(stream.published.filter((p) => p.topic === `flow:event:${runId}`).length, 1)
    } finally {
      for (const c of cs) await c.stop()
      for (const p of parts) await p.store.close()
    }
  })
})
