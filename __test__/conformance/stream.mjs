// Conformance suite of the stream adapter (SPEC §4): pub/sub with wildcards, filters, groups,
// replay, handler isolation. Every test makes a fresh adapter, uses topics no other test uses
// and shuts the adapter down.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { getEventBus } from '../../index.mjs'
import { waitFor, collector } from '../helpers/wait.mjs'
import { unique, rejectsCode, settle, assertExact, ROUND_TRIP_VALUES } from '../helpers/expect.mjs'

const INVALID_TOPICS = [
  ['the empty string', ''],
  ['a topic with NUL', 'a\u0000b'],
  ['1025 bytes', 't'.repeat(1025)],
  ['a lone surrogate', 'x\uD800'],
]

// The mode whose refusals the tests marked STRICT assert (SPEC §2; json mode converts).
const STRICT = { values: 'strict' }

export default function streamSuite(backend) {
  const withStream = (fn, opts) => async () => {
    const stream = backend.stream(opts)
    try {
      await fn(stream, unique(`stream-${backend.name}`))
    } finally {
      await stream.shutdown()
    }
  }

  /** Collects `nvent.error` reports on the process bus whose message mentions `marker`. */
  function busErrors(marker) {
    const got = collector()
    const off = getEventBus().onType('nvent.error', (e) => {
      if (JSON.stringify(e).includes(marker)) got.push(e)
    })
    return { ...got, off }
  }

  describe(`${backend.name}: stream publish/subscribe (§4)`, () => {
    test('init() resolves', withStream(async (stream) => {
      await stream.init()
    }))

    test('subscribe returns a handle { id, topic, unsubscribe() }', withStream(async (stream, u) => {
      const h = await stream.subscribe(`${u}:t`, () => {})
      assert.equal(typeof h.id, 'string')
      assert.ok(h.id.length > 0)
      assert.equal(h.topic, `${u}:t`)
      assert.equal(typeof h.unsubscribe, 'function')
      const h2 = await stream.subscribe(`${u}:t`, () => {})
      assert.notEqual(h2.id, h.id, 'handle ids are unique')
    }))

    test('a subscriber receives the event exactly as published', withStream(async (stream, u) => {
      const got = collector()
      await stream.subscribe(`${u}:t`, got.push)
      const event = { type: 'order.created', data: { id: '123', n: 0, ok: false, e: '', f: 1.25, list: [null] }, metadata: { source: 'x', zeta: 1, alpha: 2 }, timestamp: 1700000000123 }
      await stream.publish(`${u}:t`, event)
      await got.until(1)
      assertExact(got.items[0], event, 'received event')
    }))

    for (const [label, value] of ROUND_TRIP_VALUES) {
      test(`event data ${label} arrives exactly`, withStream(async (stream, u) => {
        const got = collector()
        await stream.subscribe(u, got.push)
        await stream.publish(u, { type: 't', data: value, timestamp: 1 })
        await got.until(1)
        assertExact(got.items[0].data, value)
      }))
    }

    test('timestamp is filled with now when absent', withStream(async (stream, u) => {
      const got = collector()
      await stream.subscribe(u, got.push)
      const event = { type: 't', data: { a: 1 } }
      const before = Date.now()
      await stream.publish(u, event)
      const after = Date.now()
      await got.until(1)
      const { timestamp, ...rest } = got.items[0]
      assert.equal(typeof timestamp, 'number')
      assert.ok(timestamp >= before - 5 && timestamp <= after + 5, `timestamp ${timestamp} is now`)
      assertExact(rest, event)
    }))

    test('a given timestamp is kept', withStream(async (stream, u) => {
      const got = collector()
      await stream.subscribe(u, got.push)
      await stream.publish(u, { type: 't', data: 1, timestamp: 42 })
      await got.until(1)
      assert.equal(got.items[0].timestamp, 42)
    }))

    test('messages to one topic arrive in publish order', withStream(async (stream, u) => {
      const got = collector()
      await stream.subscribe(u, got.push)
      for (let i = 0; i < 100; i++) await stream.publish(u, { type: 't', data: i })
      await got.until(100)
      assert.deepEqual(got.items.map((e) => e.data), Array.from({ length: 100 }, (_, i) => i))
    }))

    test('a subscriber sees only its topic', withStream(async (stream, u) => {
      const got = collector()
      await stream.subscribe(`${u}:a`, got.push)
      await stream.publish(`${u}:b`, { type: 'no', data: 0 })
      await stream.publish(`${u}:ab`, { type: 'no', data: 0 })
      await stream.publish(`${u}`, { type: 'no', data: 0 })
      await stream.publish(`${u}:a`, { type: 'yes', data: 1 })
      await got.until(1)
      await settle()
      assert.deepEqual(got.items.map((e) => e.type), ['yes'])
    }))

    test('publish with no subscribers resolves', withStream(async (stream, u) => {
      await stream.publish(`${u}:nobody`, { type: 't', data: 1 })
    }))

    test('every subscription of a topic receives each message once', withStream(async (stream, u) => {
      const a = collector()
      const b = collector()
      await stream.subscribe(u, a.push)
      await stream.subscribe(u, b.push)
      await stream.publish(u, { type: 't', data: 1 })
      await a.until(1)
      await b.until(1)
      await settle()
      assert.equal(a.items.length, 1)
      assert.equal(b.items.length, 1)
    }))

    test('the same handler subscribed twice is called once per subscription', withStream(async (stream, u) => {
      const got = collector()
      await stream.subscribe(u, got.push)
      await stream.subscribe(u, got.push)
      await stream.publish(u, { type: 't', data: 1 })
      await got.until(2)
      await settle()
      assert.equal(got.items.length, 2)
    }))

    test('handle.unsubscribe() stops delivery to that subscription only', withStream(async (stream, u) => {
      const a = collector()
      const b = collector()
      const ha = await stream.subscribe(u, a.push)
      await stream.subscribe(u, b.push)
      await stream.publish(u, { type: 't', data: 1 })
      await a.until(1)
      await ha.unsubscribe()
      await stream.publish(u, { type: 't', data: 2 })
      await b.until(2)
      await settle()
      assert.deepEqual(a.items.map((e) => e.data), [1])
    }))

    test('unsubscribe(handle) stops delivery', withStream(async (stream, u) => {
      const a = collector()
      const b = collector()
      const ha = await stream.subscribe(u, a.push)
      await stream.subscribe(u, b.push)
      await stream.publish(u, { type: 't', data: 1 })
      await a.until(1)
      await stream.unsubscribe(ha)
      await stream.publish(u, { type: 't', data: 2 })
      await b.until(2)
      await settle()
      assert.deepEqual(a.items.map((e) => e.data), [1])
    }))

    // SPEC §4: a publish that resolved before unsubscribe() was called is still delivered.
    // On Redis the message may still be on its way from the server: unsubscribe waits for
    // the hub's flush marker, which Redis delivers after it (src/redis/pubsub.rs). A wildcard
    // subscription sees the marker channels too, and must never receive them.
    test('a publish that resolved before unsubscribe() is delivered (20 runs)', withStream(async (stream, u) => {
      const seen = []
      const all = await stream.subscribe('*', (e) => seen.push(e))
      let delivered = 0
      for (let i = 0; i < 20; i++) {
        const got = []
        const h = await stream.subscribe(`${u}:${i}`, (e) => got.push(e))
        await stream.publish(`${u}:${i}`, { type: 't', u, data: i })
        await h.unsubscribe()
        if (got.length === 1 && got[0].data === i) delivered++
      }
      assert.equal(delivered, 20)
      await all.unsubscribe()
      for (const e of seen) assert.ok(e !== null && typeof e === 'object' && typeof e.type === 'string', JSON.stringify(e))
      assert.deepEqual(seen.filter((e) => e.u === u).map((e) => e.data), Array.from({ length: 20 }, (_, i) => i))
    }))

    test("a non-serializable event is refused with its path (values: 'strict')", withStream(async (stream, u) => {
      await rejectsCode(() => stream.publish(u, { type: 't', data: { f: () => {} } }), 'NVENT_NOT_SERIALIZABLE', (e) => {
        assert.equal(e.path, '$.data.f')
        assert.ok(e.message.includes('$.data.f'))
      })
      await rejectsCode(() => stream.publish(u, { type: 't', data: 1n }), 'NVENT_NOT_SERIALIZABLE')
      await rejectsCode(() => stream.publish(u, { type: 't', data: { m: new Map() } }), 'NVENT_NOT_SERIALIZABLE')
      await rejectsCode(() => stream.publish(u, { type: 't', data: Buffer.from('x') }), 'NVENT_NOT_SERIALIZABLE')
    }, STRICT))

    test('a circular event is refused with NVENT_CIRCULAR', withStream(async (stream, u) => {
      const data = {}
      data.self = data
      await rejectsCode(() => stream.publish(u, { type: 't', data }), 'NVENT_CIRCULAR')
    }))

    test('a refused publish delivers nothing', withStream(async (stream, u) => {
      const got = collector()
      await stream.subscribe(u, got.push)
      await rejectsCode(() => stream.publish(u, { type: 'bad', data: NaN }), 'NVENT_NOT_SERIALIZABLE')
      await stream.publish(u, { type: 'good', data: 1 })
      await got.until(1)
      await settle()
      assert.deepEqual(got.items.map((e) => e.type), ['good'])
    }, STRICT))

    for (const [label, topic] of INVALID_TOPICS) {
      test(`${label} as a topic is refused with NVENT_INVALID_NAME`, withStream(async (stream) => {
        await rejectsCode(() => stream.publish(topic, { type: 't', data: 1 }), 'NVENT_INVALID_NAME')
        await rejectsCode(() => stream.subscribe(topic, () => {}), 'NVENT_INVALID_NAME')
      }))
    }
  })

  describe(`${backend.name}: stream wildcards (§4)`, () => {
    test('a trailing * matches any rest of the topic, colons included', withStream(async (stream, u) => {
      const got = collector()
      await stream.subscribe(`${u}:store-sync:append:*`, got.push)
      await stream.publish(`${u}:store-sync:append:nq:flow:abc-123`, { type: 'a', data: 1 })
      await stream.publish(`${u}:store-sync:append:x`, { type: 'b', data: 2 })
      await got.until(2)
      assert.deepEqual(got.items.map((e) => e.type), ['a', 'b'])
    }))

    test('a pattern does not match other topics', withStream(async (stream, u) => {
      const got = collector()
      await stream.subscribe(`${u}:store-sync:append:*`, got.push)
      await stream.publish(`${u}:store-sync:delete:x`, { type: 'no', data: 0 })
      await stream.publish(`other:${u}:store-sync:append:x`, { type: 'no', data: 0 })
      await stream.publish(`${u}:store-sync:appendix`, { type: 'no', data: 0 })
      await stream.publish(`${u}:store-sync:append:yes`, { type: 'yes', data: 1 })
      await got.until(1)
      await settle()
      assert.deepEqual(got.items.map((e) => e.type), ['yes'])
    }))

    test('* in the middle of a topic', withStream(async (stream, u) => {
      const got = collector()
      await stream.subscribe(`${u}:flow:*:done`, got.push)
      await stream.publish(`${u}:flow:run-1:done`, { type: 'a', data: 1 })
      await stream.publish(`${u}:flow:run-1:started`, { type: 'no', data: 0 })
      await stream.publish(`${u}:flow:x:y:done`, { type: 'b', data: 2 })
      await got.until(2)
      await settle()
      assert.deepEqual(got.items.map((e) => e.type), ['a', 'b'])
    }))

    test('several * in one pattern', withStream(async (stream, u) => {
      const got = collector()
      await stream.subscribe(`${u}:*:event:*`, got.push)
      await stream.publish(`${u}:flow:event:r1`, { type: 'a', data: 1 })
      await stream.publish(`${u}:flow:other:r1`, { type: 'no', data: 0 })
      await stream.publish(`${u}:trigger:event:t1`, { type: 'b', data: 2 })
      await got.until(2)
      await settle()
      assert.deepEqual(got.items.map((e) => e.type), ['a', 'b'])
    }))

    test('only * is a wildcard: ? [ ] are literal characters', withStream(async (stream, u) => {
      const q = collector()
      const br = collector()
      await stream.subscribe(`${u}:a?c`, q.push)
      await stream.subscribe(`${u}:[b]*`, br.push)
      await stream.publish(`${u}:abc`, { type: 'no', data: 0 })
      await stream.publish(`${u}:bx`, { type: 'no', data: 0 })
      await stream.publish(`${u}:a?c`, { type: 'q', data: 1 })
      await stream.publish(`${u}:[b]x`, { type: 'br', data: 2 })
      await q.until(1)
      await br.until(1)
      await settle()
      assert.deepEqual(q.items.map((e) => e.type), ['q'])
      assert.deepEqual(br.items.map((e) => e.type), ['br'])
    }))

    test('a publish goes to every matching subscription exactly once', withStream(async (stream, u) => {
      const exact = collector()
      const star = collector()
      const star2 = collector()
      const mid = collector()
      await stream.subscribe(`${u}:flow:event:r1`, exact.push)
      await stream.subscribe(`${u}:flow:event:*`, star.push)
      await stream.subscribe(`${u}:flow:*`, star2.push)
      await stream.subscribe(`${u}:*:r1`, mid.push)
      await stream.publish(`${u}:flow:event:r1`, { type: 't', data: 1 })
      for (const c of [exact, star, star2, mid]) await c.until(1)
      await settle()
      for (const c of [exact, star, star2, mid]) assert.equal(c.items.length, 1)
    }))
  })

  describe(`${backend.name}: stream topics and counts (§4)`, () => {
    test('a fresh adapter lists no topics', withStream(async (stream) => {
      assert.deepEqual(await stream.listTopics(), [])
    }))

    test('listTopics lists subscribed topics as written, wildcard patterns included', withStream(async (stream, u) => {
      await stream.subscribe(`${u}:a`, () => {})
      await stream.subscribe(`${u}:b:*`, () => {})
      const topics = await stream.listTopics()
      assert.deepEqual([...topics].sort(), [`${u}:a`, `${u}:b:*`].sort())
    }))

    test('listTopics lists a topic once however many subscriptions it has', withStream(async (stream, u) => {
      await stream.subscribe(`${u}:a`, () => {})
      await stream.subscribe(`${u}:a`, () => {})
      assert.deepEqual(await stream.listTopics(), [`${u}:a`])
    }))

    test('a topic leaves listTopics when its last subscription ends', withStream(async (stream, u) => {
      const h1 = await stream.subscribe(`${u}:a`, () => {})
      const h2 = await stream.subscribe(`${u}:a`, () => {})
      await stream.subscribe(`${u}:keep`, () => {})
      await h1.unsubscribe()
      assert.ok((await stream.listTopics()).includes(`${u}:a`))
      await stream.unsubscribe(h2)
      assert.deepEqual(await stream.listTopics(), [`${u}:keep`])
    }))

    test('getSubscriptionCount counts the live subscriptions of a topic', withStream(async (stream, u) => {
      assert.equal(await stream.getSubscriptionCount(`${u}:a`), 0)
      const h1 = await stream.subscribe(`${u}:a`, () => {})
      await stream.subscribe(`${u}:a`, () => {})
      await stream.subscribe(`${u}:b`, () => {})
      assert.equal(await stream.getSubscriptionCount(`${u}:a`), 2)
      assert.equal(await stream.getSubscriptionCount(`${u}:b`), 1)
      await h1.unsubscribe()
      assert.equal(await stream.getSubscriptionCount(`${u}:a`), 1)
    }))

    test('getSubscriptionCount counts a pattern subscription under the pattern as written', withStream(async (stream, u) => {
      await stream.subscribe(`${u}:p:*`, () => {})
      assert.equal(await stream.getSubscriptionCount(`${u}:p:*`), 1)
    }))

    test('group and filtered subscriptions are counted too', withStream(async (stream, u) => {
      await stream.subscribe(`${u}:a`, () => {}, { group: 'g' })
      await stream.subscribe(`${u}:a`, () => {}, { group: 'g' })
      await stream.subscribe(`${u}:a`, () => {}, { filter: 'x.*' })
      assert.equal(await stream.getSubscriptionCount(`${u}:a`), 3)
    }))
  })

  describe(`${backend.name}: stream subscribe options (§4)`, () => {
    async function publishTypes(stream, topic, types) {
      for (const [i, type] of types.entries()) await stream.publish(topic, { type, data: i })
    }
    const TYPES = ['order.created', 'invoice.created', 'order.paid', 'order', 'order.paid.late', 'xorder.created']

    test('filter as a glob string matches event.type', withStream(async (stream, u) => {
      const all = collector()
      const got = collector()
      await stream.subscribe(u, all.push)
      await stream.subscribe(u, got.push, { filter: 'order.*' })
      await publishTypes(stream, u, TYPES)
      await all.until(TYPES.length)
      await settle()
      assert.deepEqual(got.items.map((e) => e.type), ['order.created', 'order.paid', 'order.paid.late'])
    }))

    test('filter as a plain string matches that type only', withStream(async (stream, u) => {
      const all = collector()
      const got = collector()
      await stream.subscribe(u, all.push)
      await stream.subscribe(u, got.push, { filter: 'order.paid' })
      await publishTypes(stream, u, TYPES)
      await all.until(TYPES.length)
      await settle()
      assert.deepEqual(got.items.map((e) => e.type), ['order.paid'])
    }))

    test('filter as a RegExp matches event.type', withStream(async (stream, u) => {
      const all = collector()
      const got = collector()
      await stream.subscribe(u, all.push)
      await stream.subscribe(u, got.push, { filter: /^order\.(created|paid)$/ })
      await publishTypes(stream, u, TYPES)
      await all.until(TYPES.length)
      await settle()
      assert.deepEqual(got.items.map((e) => e.type), ['order.created', 'order.paid'])
    }))

    test('a filtered subscription receives the matching events exactly', withStream(async (stream, u) => {
      const got = collector()
      await stream.subscribe(u, got.push, { filter: 'a.*' })
      const event = { type: 'a.b', data: { x: '1' }, metadata: { m: 0 }, timestamp: 7 }
      await stream.publish(u, event)
      await got.until(1)
      assertExact(got.items[0], event)
    }))

    test('filter combines with a wildcard topic', withStream(async (stream, u) => {
      const all = collector()
      const got = collector()
      await stream.subscribe(`${u}:*`, all.push)
      await stream.subscribe(`${u}:*`, got.push, { filter: 'step.*' })
      await stream.publish(`${u}:r1`, { type: 'step.done', data: 1 })
      await stream.publish(`${u}:r2`, { type: 'flow.start', data: 2 })
      await stream.publish(`${u}:r3`, { type: 'step.failed', data: 3 })
      await all.until(3)
      await settle()
      assert.deepEqual(got.items.map((e) => e.data), [1, 3])
    }))

    test('a group gets each message once, spread over its members', withStream(async (stream, u) => {
      const members = [collector(), collector(), collector()]
      for (const m of members) await stream.subscribe(u, m.push, { group: 'workers' })
      for (let i = 0; i < 30; i++) await stream.publish(u, { type: 't', data: i })
      const total = () => members.reduce((n, m) => n + m.items.length, 0)
      await waitFor(() => total() >= 30, { what: '30 group deliveries' })
      await settle(200)
      assert.equal(total(), 30, 'no message went to two members')
      const seen = members.flatMap((m) => m.items.map((e) => e.data)).sort((a, b) => a - b)
      assert.deepEqual(seen, Array.from({ length: 30 }, (_, i) => i))
    }))

    test('each group and each plain subscription gets every message', withStream(async (stream, u) => {
      const plain = collector()
      const g1 = [collector(), collector()]
      const g2 = [collector(), collector()]
      await stream.subscribe(u, plain.push)
      for (const m of g1) await stream.subscribe(u, m.push, { group: 'one' })
      for (const m of g2) await stream.subscribe(u, m.push, { group: 'two' })
      for (let i = 0; i < 20; i++) await stream.publish(u, { type: 't', data: i })
      const sum = (g) => g.reduce((n, m) => n + m.items.length, 0)
      await plain.until(20)
      await waitFor(() => sum(g1) >= 20 && sum(g2) >= 20, { what: 'both groups' })
      await settle(200)
      assert.equal(plain.items.length, 20)
      assert.equal(sum(g1), 20)
      assert.equal(sum(g2), 20)
      for (const g of [g1, g2]) {
        assert.deepEqual(g.flatMap((m) => m.items.map((e) => e.data)).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i))
      }
    }))

    test('a group member receives messages exactly as published', withStream(async (stream, u) => {
      const m = collector()
      await stream.subscribe(u, m.push, { group: 'g' })
      const event = { type: 't', data: { s: '123', z: 0 }, metadata: { k: 'v' }, timestamp: 9 }
      await stream.publish(u, event)
      await m.until(1)
      assertExact(m.items[0], event)
    }))

    test('groups of different topics are independent', withStream(async (stream, u) => {
      const a = collector()
      const b = collector()
      await stream.subscribe(`${u}:a`, a.push, { group: 'same' })
      await stream.subscribe(`${u}:b`, b.push, { group: 'same' })
      await stream.publish(`${u}:a`, { type: 't', data: 'a' })
      await stream.publish(`${u}:b`, { type: 't', data: 'b' })
      await a.until(1)
      await b.until(1)
      await settle()
      assert.deepEqual(a.items.map((e) => e.data), ['a'])
      assert.deepEqual(b.items.map((e) => e.data), ['b'])
    }))

    test('fromBeginning replays the retained messages, then delivers new ones in order', withStream(async (stream, u) => {
      const witness = collector()
      await stream.subscribe(u, witness.push)
      await stream.publish(u, { type: 'm1', data: 1 })
      await stream.publish(u, { type: 'm2', data: { s: '2' } })
      await witness.until(2)
      const replay = collector()
      await stream.subscribe(u, replay.push, { fromBeginning: true })
      await replay.until(2)
      await stream.publish(u, { type: 'm3', data: 3 })
      await replay.until(3)
      await witness.until(3)
      assert.deepEqual(replay.items, witness.items, 'the replayed messages equal what was delivered live')
      assert.deepEqual(replay.items.map((e) => e.type), ['m1', 'm2', 'm3'])
    }))

    test('fromBeginning replays messages published while nobody subscribed', withStream(async (stream, u) => {
      await stream.publish(u, { type: 'early', data: 1, timestamp: 5 })
      const replay = collector()
      await stream.subscribe(u, replay.push, { fromBeginning: true })
      await replay.until(1)
      assertExact(replay.items[0], { type: 'early', data: 1, timestamp: 5 })
    }))

    test('fromBeginning replays only that topic', withStream(async (stream, u) => {
      await stream.publish(`${u}:other`, { type: 'other', data: 0 })
      await stream.publish(`${u}:mine`, { type: 'mine', data: 1 })
      const replay = collector()
      await stream.subscribe(`${u}:mine`, replay.push, { fromBeginning: true })
      await replay.until(1)
      await settle()
      assert.deepEqual(replay.items.map((e) => e.type), ['mine'])
    }))

    test('a plain subscription does not replay history', withStream(async (stream, u) => {
      await stream.publish(u, { type: 'old', data: 0 })
      const got = collector()
      await stream.subscribe(u, got.push)
      await stream.publish(u, { type: 'new', data: 1 })
      await got.until(1)
      await settle()
      assert.deepEqual(got.items.map((e) => e.type), ['new'])
    }))
  })

  describe(`${backend.name}: stream handler errors (§4)`, () => {
    test('a throwing handler does not stop delivery to others or to itself', withStream(async (stream, u) => {
      const marker = `boom-${u}`
      const errors = busErrors(marker)
      try {
        let calls = 0
        const ok = collector()
        await stream.subscribe(u, () => {
          calls++
          throw new Error(marker)
        })
        await stream.subscribe(u, ok.push)
        await stream.publish(u, { type: 't', data: 1 })
        await stream.publish(u, { type: 't', data: 2 })
        await ok.until(2)
        await waitFor(() => calls === 2, { what: 'the throwing handler to see both messages' })
        assert.deepEqual(ok.items.map((e) => e.data), [1, 2])
      } finally {
        errors.off()
      }
    }))

    test('a throwing handler is reported on the process bus as nvent.error', withStream(async (stream, u) => {
      const marker = `boom-${u}`
      const errors = busErrors(marker)
      try {
        await stream.subscribe(u, () => {
          throw new Error(marker)
        })
        await stream.publish(u, { type: 't', data: 1 })
        await errors.until(1)
        const [report] = errors.items
        assert.equal(report.type, 'nvent.error')
        assert.equal(typeof report.data.source, 'string')
        assert.ok(report.data.source.length > 0)
        assert.equal(typeof report.data.code, 'string')
        assert.equal(typeof report.data.message, 'string')
        assert.ok(report.data.message.includes(marker), `the message carries the handler's error: ${report.data.message}`)
      } finally {
        errors.off()
      }
    }))

    test('a rejecting handler does not stop delivery and is reported as nvent.error', withStream(async (stream, u) => {
      const marker = `reject-${u}`
      const errors = busErrors(marker)
      try {
        const ok = collector()
        await stream.subscribe(u, async () => {
          await Promise.resolve()
          throw new Error(marker)
        })
        await stream.subscribe(u, ok.push)
        await stream.publish(u, { type: 't', data: 1 })
        await stream.publish(u, { type: 't', data: 2 })
        await ok.until(2)
        await errors.until(2)
        for (const r of errors.items) {
          assert.equal(r.type, 'nvent.error')
          assert.ok(r.data.message.includes(marker))
          assert.equal(typeof r.data.code, 'string')
          assert.equal(typeof r.data.source, 'string')
        }
      } finally {
        errors.off()
      }
    }))

    test('a throwing group member does not stop the group', withStream(async (stream, u) => {
      const marker = `group-${u}`
      const errors = busErrors(marker)
      try {
        const plain = collector()
        await stream.subscribe(u, () => {
          throw new Error(marker)
        }, { group: 'g' })
        await stream.subscribe(u, plain.push)
        for (let i = 0; i < 3; i++) await stream.publish(u, { type: 't', data: i })
        await plain.until(3)
        await errors.until(1)
      } finally {
        errors.off()
      }
    }))
  })

  describe(`${backend.name}: stream shutdown (§4)`, () => {
    for (const method of ['shutdown', 'close']) {
      test(`publish after ${method}() rejects with NVENT_CLOSED`, async () => {
        const stream = backend.stream()
        const u = unique('closed')
        await stream.subscribe(u, () => {})
        await stream[method]()
        await rejectsCode(() => stream.publish(u, { type: 't', data: 1 }), 'NVENT_CLOSED')
      })

      test(`subscribe after ${method}() rejects with NVENT_CLOSED`, async () => {
        const stream = backend.stream()
        await stream.init()
        await stream[method]()
        await rejectsCode(() => stream.subscribe(unique('closed'), () => {}), 'NVENT_CLOSED')
      })
    }

    test('shutdown() of a never-used adapter resolves', async () => {
      const stream = backend.stream()
      await stream.shutdown()
    })

    test('listTopics and getSubscriptionCount after shutdown reject with NVENT_CLOSED', async () => {
      const stream = backend.stream()
      await stream.shutdown()
      await rejectsCode(() => stream.listTopics(), 'NVENT_CLOSED')
      await rejectsCode(() => stream.getSubscriptionCount('x'), 'NVENT_CLOSED')
    })
  })

  // ---------------------------------------------------------------------------------------
  describe(`${backend.name}: stream messages without type (§4)`, () => {
    // nvent publishes its live flow and trigger stats as { id, metadata }.
    test('a message without type is delivered as published, with timestamp filled', withStream(async (stream, u) => {
      const got = collector()
      await stream.subscribe(u, got.push)
      const before = Date.now()
      await stream.publish(u, { id: 'run-1', metadata: { flowName: 'f', n: 0 } })
      const [m] = await got.until(1, { timeoutMs: 10000 })
      assert.deepEqual(Object.keys(m), ['id', 'metadata', 'timestamp'])
      assert.deepEqual(m.metadata, { flowName: 'f', n: 0 })
      assert.ok(m.timestamp >= before - 5 && m.timestamp <= Date.now() + 5, `timestamp ${m.timestamp}`)
    }))

    test('a filter only matches messages whose type is a string', withStream(async (stream, u) => {
      const glob = collector()
      const star = collector()
      const re = collector()
      const all = collector()
      await stream.subscribe(u, glob.push, { filter: 'flow.*' })
      await stream.subscribe(u, star.push, { filter: '*' })
      await stream.subscribe(u, re.push, { filter: /^(undefined|5|flow\..*)$/ })
      await stream.subscribe(u, all.push)
      await stream.publish(u, { id: 'a' })
      await stream.publish(u, { type: 5, id: 'b' })
      await stream.publish(u, { type: { t: 'flow.x' }, id: 'c' })
      await stream.publish(u, { type: 'flow.start', id: 'd' })
      await all.until(4, { timeoutMs: 10000 })
      await glob.until(1)
      await star.until(1)
      await re.until(1)
      await settle()
      assert.deepEqual(all.items.map((m) => m.id), ['a', 'b', 'c', 'd'])
      assert.deepEqual(all.items[1].type, 5, 'a non-string type is delivered as published')
      for (const c of [glob, star, re]) assert.deepEqual(c.items.map((m) => m.id), ['d'])
    }))

    test('a message that is not an object is NVENT_INVALID_ARGUMENT', withStream(async (stream, u) => {
      for (const bad of [null, 'x', 5, [1]]) await rejectsCode(() => stream.publish(u, bad), 'NVENT_INVALID_ARGUMENT')
    }))
  })

  // Issue 14, item 15: getSubscriptionCount resolved 0 for names every other call refuses.
  describe(`${backend.name}: stream argument checks`, () => {
    for (const [label, topic] of INVALID_TOPICS) {
      test(`getSubscriptionCount of ${label} is NVENT_INVALID_NAME`, withStream(async (stream) => {
        await rejectsCode(() => stream.getSubscriptionCount(topic), 'NVENT_INVALID_NAME')
      }))
    }

    test("an own '__proto__' field at the top of a message is refused by name", withStream(async (stream, u) => {
      await rejectsCode(() => stream.publish(u, JSON.parse('{"type":"t","__proto__":{"x":1}}')), 'NVENT_INVALID_ARGUMENT', (e) => assert.match(e.message, /__proto__/))
    }))
  })
}
