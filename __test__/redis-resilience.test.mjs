// Redis outages and security (SPEC §2, §4, §9): a restarted server (calls fail with
// NVENT_BACKEND_UNAVAILABLE meanwhile, then succeed by themselves), a killed pub/sub
// connection (resubscribed, `nvent.stream.gap` on the bus), killed connections of a store
// subscription reader (no append lost), wrong credentials (NVENT_AUTH
// with no password in the message), a least-privilege ACL user, and TLS with a throwaway CA.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { RedisStoreAdapter, RedisStreamAdapter, RedisQueueAdapter, getEventBus } from '../index.mjs'
import { haveRedis, haveOpenssl, startRedis, startTlsRedis } from './helpers/redis-server.mjs'
import { unique, settle } from './helpers/expect.mjs'
import { waitFor } from './helpers/wait.mjs'

const skip = !haveRedis() && 'redis-server not installed'

describe('redis: outages', { skip }, () => {
  test('a restarted server: NVENT_BACKEND_UNAVAILABLE during the outage, success after', async () => {
    const server = await startRedis({ appendonly: true })
    const store = new RedisStoreAdapter({ connection: { ...server.connection, commandTimeout: 1000, connectTimeout: 1000 } })
    try {
      const k = unique('outage')
      await store.kv.set(k, { v: 1 })
      await server.stop()
      const started = Date.now()
      await assert.rejects(store.kv.get(k), (e) => e.code === 'NVENT_BACKEND_UNAVAILABLE')
      await assert.rejects(store.index.add(k + ':i', 'a', 1), (e) => e.code === 'NVENT_BACKEND_UNAVAILABLE')
      assert.ok(Date.now() - started < 5000, 'failed within the timeouts')
      await server.start()
      const v = await waitFor(async () => {
        try {
          return await store.kv.get(k)
        } catch (e) {
          assert.equal(e.code, 'NVENT_BACKEND_UNAVAILABLE')
          return null
        }
      }, { what: 'reconnect', timeoutMs: 15000, intervalMs: 100 })
      assert.deepEqual(v, { v: 1 })
      await store.index.add(k + ':i', 'a', 1)
    } finally {
      await store.close()
      await server.close()
    }
  })

  test('a server that stops answering: commands time out with NVENT_BACKEND_UNAVAILABLE; blocking reads are exempt', async () => {
    const server = await startRedis()
    const connection = { ...server.connection, commandTimeout: 300 }
    const store = new RedisStoreAdapter({ connection })
    const stream = new RedisStreamAdapter({ connection })
    try {
      const topic = unique('timeout')
      const got = []
      await stream.subscribe(topic, (m) => got.push(m.data), { group: 'g' })
      // Blocking reads last 1 s each, longer than the command timeout: they must go on.
      await settle(1500)
      await stream.publish(topic, { type: 't', data: 1 })
      await waitFor(() => got.length === 1, { what: 'delivery after blocking reads outlived the command timeout' })
      await store.kv.set('k', 1)
      server.pause()
      const t0 = Date.now()
      await assert.rejects(store.kv.get('k'), (e) => {
        assert.equal(e.code, 'NVENT_BACKEND_UNAVAILABLE')
        assert.match(e.message, /300 ms/)
        return true
      })
      assert.ok(Date.now() - t0 < 3000, 'bounded by the command timeout')
      server.resume()
      assert.equal(await waitFor(async () => store.kv.get('k').catch(() => null), { what: 'answers again', intervalMs: 50 }), 1)
    } finally {
      server.resume()
      await store.close()
      await stream.close()
      await server.close()
    }
  })

  test('a frozen server: queue calls and publish reject at commandTimeout, not up to 1.25x it, and work after SIGCONT', async () => {
    // The event-loop connection's watchdog used to check every timeout/4, so a call could
    // wait up to 1.25x commandTimeout (6.25 s of 5 s). Five rounds: the old code passed a
    // round with probability 0.4 (200 of its 500 ms of slack), all five about 1%.
    const T = 2000
    const MARGIN = 200
    const server = await startRedis()
    const connection = { ...server.connection, commandTimeout: T }
    const queue = new RedisQueueAdapter({ connection, prefix: unique('frozen') })
    const stream = new RedisStreamAdapter({ connection, prefix: unique('frozen') })
    const q = unique('frozen:q')
    const topic = unique('frozen:t')
    const calls = {
      enqueue: () => queue.enqueue(q, { name: 'job', data: {} }),
      getJob: () => queue.getJob(q, 'nope'),
      publish: () => stream.publish(topic, { type: 't' }),
    }
    try {
      for (let round = 0; round < 5; round++) {
        // Working again (the event-loop connection reopened and in use), then frozen.
        await waitFor(async () => {
          try {
            for (const f of Object.values(calls)) await f()
            return true
          } catch (e) {
            assert.equal(e.code, 'NVENT_BACKEND_UNAVAILABLE')
            return false
          }
        }, { what: 'calls work (again)', intervalMs: 100, timeoutMs: 20000 })
        for (const f of Object.values(calls)) await f()
        server.pause()
        try {
          const results = await Promise.all(Object.entries(calls).map(async ([name, f]) => {
            const t0 = Date.now()
            const e = await f().then(() => null, (e) => e)
            return { name, ms: Date.now() - t0, code: e?.code }
          }))
          for (const r of results) {
            assert.equal(r.code, 'NVENT_BACKEND_UNAVAILABLE', `${r.name} rejected`)
            assert.ok(r.ms < T + MARGIN, `round ${round}: ${r.name} rejected after ${r.ms} ms (commandTimeout ${T})`)
          }
        } finally {
          server.resume()
        }
      }
      await waitFor(async () => calls.enqueue().then(() => true, () => false), { what: 'enqueue after SIGCONT', intervalMs: 100 })
      await calls.publish()
    } finally {
      server.resume()
      await queue.close()
      await stream.close()
      await server.close()
    }
  })

  test('CLIENT KILL of the pub/sub connection: resubscribed and a gap event', async () => {
    const server = await startRedis()
    const stream = new RedisStreamAdapter({ connection: server.connection })
    const store = new RedisStoreAdapter({ connection: server.connection })
    const gaps = []
    const off = getEventBus().onType('nvent.stream.gap', (e) => gaps.push(e))
    try {
      const topic = unique('gap')
      const got = []
      await stream.subscribe(topic, (m) => got.push(m.data))
      const subject = unique('gap:subject')
      const events = []
      await store.stream.subscribe(subject, (e) => events.push(e.data))
      await stream.publish(topic, { type: 't', data: 1 })
      await waitFor(() => got.length === 1, { what: 'first message' })
      assert.equal(typeof (await server.cmd('CLIENT', 'KILL', 'TYPE', 'pubsub')), 'number')
      await waitFor(() => gaps.length >= 1, { what: 'gap event of the stream', timeoutMs: 10000 })
      assert.deepEqual(gaps.map((g) => g.data.source), ['stream'])
      // Resubscribed: later messages and appends arrive again.
      await waitFor(async () => {
        await stream.publish(topic, { type: 't', data: 2 })
        return got.includes(2)
      }, { what: 'delivery after resubscribe', intervalMs: 100 })
      await store.stream.append(subject, { type: 't', data: 'after' })
      await waitFor(() => events.includes('after'), { what: 'store event after resubscribe' })
    } finally {
      off()
      await stream.close()
      await store.close()
      await server.close()
    }
  })

  test('store subscriptions read the stream: killed connections lose no append and report no gap', async () => {
    const server = await startRedis()
    const store = new RedisStoreAdapter({ connection: server.connection })
    const writer = new RedisStoreAdapter({ connection: server.connection })
    const gaps = []
    const off = getEventBus().onType('nvent.stream.gap', (e) => gaps.push(e))
    try {
      const subject = unique('kill:subject')
      const events = []
      await store.stream.subscribe(subject, (e) => events.push(e.data))
      await writer.stream.append(subject, { type: 't', data: 0 })
      await waitFor(() => events.length === 1, { what: 'first event' })
      // Kills every plain connection (the blocking reader's included) while appends go on.
      for (let i = 1; i <= 20; i++) {
        if (i % 5 === 0) await server.cmd('CLIENT', 'KILL', 'TYPE', 'normal')
        await waitFor(async () => {
          try {
            await writer.stream.append(subject, { type: 't', data: i })
            return true
          } catch (e) {
            if (e.code !== 'NVENT_BACKEND_UNAVAILABLE') throw e
            return false
          }
        }, { what: `append ${i}`, intervalMs: 50 })
      }
      await waitFor(() => events.length >= 21, { what: 'every append after the kills', timeoutMs: 20000 })
      assert.deepEqual(events, Array.from({ length: 21 }, (_, i) => i))
      assert.deepEqual(gaps.filter((g) => g.data.source === 'store'), [])
    } finally {
      off()
      await store.close()
      await writer.close()
      await server.close()
    }
  })
})

describe('redis: credentials', { skip }, () => {
  const SECRET = 'pa55-w0rd-XYZ'
  test('wrong credentials give NVENT_AUTH without the password; a least-privilege ACL user works', async () => {
    const server = await startRedis({
      extra: [
        '--user', 'default', 'off',
        '--user', 'app', 'on', `>${SECRET}`, 'resetkeys', '~*', 'resetchannels', '&*',
        '-@all', '+@read', '+@write', '+@stream', '+@pubsub', '+@scripting', '+@connection',
        '+@transaction', '-@dangerous',
      ],
    })
    const bad = new RedisStoreAdapter({ connection: { ...server.connection, username: 'app', password: 'nope-' + SECRET } })
    const badUrl = new RedisStoreAdapter({ connection: { url: `redis://app:wrong${SECRET}@127.0.0.1:${server.port}` } })
    const good = new RedisStoreAdapter({ connection: { ...server.connection, username: 'app', password: SECRET } })
    const stream = new RedisStreamAdapter({ connection: { url: `redis://app:${SECRET}@127.0.0.1:${server.port}` } })
    try {
      for (const s of [bad, badUrl]) {
        await assert.rejects(s.kv.get('k'), (e) => {
          assert.equal(e.code, 'NVENT_AUTH')
          assert.ok(!e.message.includes(SECRET), e.message)
          assert.ok(!String(e.stack).includes(SECRET))
          return true
        })
      }
      const k = unique('acl')
      await good.kv.set(k, 1, 10)
      assert.equal(await good.kv.increment(k, 2), 3)
      await good.index.add(k + ':i', 'a', 1, { n: 1 })
      await good.index.update(k + ':i', 'a', { m: 2 })
      assert.equal((await good.index.read(k + ':i')).length, 1)
      await good.stream.append(k + ':s', { type: 't' })
      assert.equal(await good.kv.clear(k + '*'), 1)
      assert.equal(await good.claim.once(k + ':c', 'me', 5), true)
      const got = []
      await stream.subscribe(k, (m) => got.push(m.data))
      await stream.subscribe(k + ':g', (m) => got.push(m.data), { group: 'g' })
      await stream.publish(k, { type: 't', data: 'plain' })
      await stream.publish(k + ':g', { type: 't', data: 'group' })
      await waitFor(() => got.length === 2, { what: 'deliveries as the ACL user' })
    } finally {
      for (const s of [bad, badUrl, good]) await s.close()
      await stream.close()
      await server.close()
    }
  })
})

describe('redis: error codes of server replies', { skip }, () => {
  test('a missing or wrong password is NVENT_AUTH from every entry point, subscribe included, at once', async () => {
    const SECRET = 'only-the-server-knows'
    const server = await startRedis({ extra: ['--requirepass', SECRET] })
    try {
      for (const password of [undefined, 'wrong-' + SECRET]) {
        // A long connect timeout: a subscribe must not wait it out before failing.
        const connection = { ...server.connection, password, connectTimeout: 20000, commandTimeout: 20000 }
        const store = new RedisStoreAdapter({ connection })
        const stream = new RedisStreamAdapter({ connection })
        const queue = new RedisQueueAdapter({ connection })
        const calls = {
          'index.add': () => store.index.add('i', 'a', 1),
          'kv.get': () => store.kv.get('k'),
          enqueue: () => queue.enqueue('q', { name: 'job', data: {} }),
          'stream.subscribe': () => stream.subscribe('t', () => {}),
          'group subscribe': () => stream.subscribe('t', () => {}, { group: 'g' }),
          publish: () => stream.publish('t', { type: 't' }),
          'store.stream.subscribe': () => store.stream.subscribe('s', () => {}),
        }
        try {
          for (const [name, f] of Object.entries(calls)) {
            const t0 = Date.now()
            await assert.rejects(f(), (e) => {
              assert.equal(e.code, 'NVENT_AUTH', `${name} (password ${password ? 'wrong' : 'missing'}): ${e.message}`)
              assert.ok(!e.message.includes(SECRET))
              return true
            })
            assert.ok(Date.now() - t0 < 10000, `${name} failed at once, not after the connect timeout`)
          }
        } finally {
          await store.close()
          await stream.close()
          await queue.close()
        }
      }
    } finally {
      await server.close()
    }
  })

  test('server errors get the code of their cause, never NVENT_INTERNAL', async () => {
    const server = await startRedis({ extra: ['--databases', '4'] })
    const badDb = new RedisStoreAdapter({ connection: { ...server.connection, db: 99 } })
    const badDbQueue = new RedisQueueAdapter({ connection: { ...server.connection, db: 99 } })
    const store = new RedisStoreAdapter({ connection: server.connection })
    try {
      for (const f of [() => badDb.kv.get('k'), () => badDbQueue.enqueue('q', { name: 'job', data: {} })]) {
        await assert.rejects(f(), (e) => {
          assert.equal(e.code, 'NVENT_INVALID_ARGUMENT', e.message)
          assert.match(e.message, /connection\.db 99/)
          return true
        })
      }
      // The store owns `version`; someone overwrote it with text.
      const key = unique('corrupt')
      await store.index.add(key, 'a', 1, { n: 1 })
      await server.cmd('HSET', `${key}:meta:a`, 'version', 'not-a-number')
      for (const f of [() => store.index.update(key, 'a', { m: 2 }), () => store.index.increment(key, 'a', 'n', 1)]) {
        await assert.rejects(f(), (e) => {
          assert.equal(e.code, 'NVENT_CORRUPT', e.message)
          return true
        })
      }
    } finally {
      await badDb.close()
      await badDbQueue.close()
      await store.close()
      await server.close()
    }
  })
})

describe('redis: TLS', { skip: skip || (!haveOpenssl() && 'openssl not installed') }, () => {
  test('rediss:// with a CA made for the test', async () => {
    const { server, tlsPort, ca } = await startTlsRedis()
    const store = new RedisStoreAdapter({ connection: { url: `rediss://127.0.0.1:${tlsPort}`, tls: { ca } } })
    const untrusted = new RedisStoreAdapter({ connection: { url: `rediss://127.0.0.1:${tlsPort}`, connectTimeout: 2000 } })
    const stream = new RedisStreamAdapter({ connection: { host: '127.0.0.1', port: tlsPort, tls: { ca } } })
    try {
      const k = unique('tls')
      await store.kv.set(k, { secure: true })
      assert.deepEqual(await store.kv.get(k), { secure: true })
      const got = []
      await stream.subscribe(k, (m) => got.push(m.data))
      await stream.publish(k, { type: 't', data: 'over tls' })
      await waitFor(() => got.length === 1, { what: 'message over TLS' })
      await assert.rejects(untrusted.kv.get(k), (e) => typeof e.code === 'string' && e.code.startsWith('NVENT_'))
    } finally {
      await store.close()
      await untrusted.close()
      await stream.close()
      await server.close()
    }
  })
})

describe('redis: process lifetime', { skip }, () => {
  test('a process with open Redis adapters and subscriptions exits without close()', async () => {
    const server = await startRedis()
    try {
      const script = `
        import { RedisStoreAdapter, RedisStreamAdapter } from ${JSON.stringify(new URL('../index.mjs', import.meta.url).href)}
        const connection = { host: '127.0.0.1', port: ${server.port} }
        const store = new RedisStoreAdapter({ connection })
        const stream = new RedisStreamAdapter({ connection })
        await store.kv.set('exit-test', 1)
        await store.stream.subscribe('exit-subject', () => {})
        await stream.subscribe('exit-topic', () => {})
        await stream.subscribe('exit-group', () => {}, { group: 'g' })
        console.log('done')
      `
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 20000, encoding: 'utf8' })
      assert.equal(r.error, undefined, 'exited by itself')
      assert.equal(r.stdout.trim(), 'done', r.stderr)
      assert.equal(r.status, 0)
    } finally {
      await server.close()
    }
  })
})

describe('redis: stream retention and poison messages', { skip }, () => {
  test('the retained stream of a topic stays bounded', async () => {
    const server = await startRedis()
    const stream = new RedisStreamAdapter({ connection: server.connection, prefix: 'ret', retain: 10 })
    try {
      const topic = unique('retain')
      for (let i = 0; i < 600; i++) await stream.publish(topic, { type: 't', data: i })
      const len = await server.cmd('XLEN', `ret:stream:${topic}`)
      // Approximate trimming (MAXLEN ~) cuts whole stream nodes (100 entries by default).
      assert.ok(len >= 10 && len <= 110, `retained ${len}`)
    } finally {
      await stream.close()
      await server.close()
    }
  })

  test('names never collide with engine keys: the topic orders:dead is not the dead letters of orders', async () => {
    const server = await startRedis()
    const prefix = 'nc'
    const stream = new RedisStreamAdapter({ connection: server.connection, prefix, claimIdleMs: 100, maxDeliveries: 1 })
    const queue = new RedisQueueAdapter({ connection: server.connection, prefix })
    try {
      const orders = unique('orders')
      const dead = `${orders}:dead`
      // A poison message of `orders` (delivered twice, never acknowledged) goes to its dead letters.
      await server.cmd('XGROUP', 'CREATE', `${prefix}:stream:${orders}`, 'g', '$', 'MKSTREAM')
      await stream.publish(orders, { type: 't', data: 'poison' })
      await server.cmd('XREADGROUP', 'GROUP', 'g', 'crashy', 'STREAMS', `${prefix}:stream:${orders}`, '>')
      await server.cmd('XREADGROUP', 'GROUP', 'g', 'crashy', 'STREAMS', `${prefix}:stream:${orders}`, '0')
      const ordersGot = []
      const deadGroup = []
      const deadReplay = []
      await stream.subscribe(orders, (m) => ordersGot.push(m.data), { group: 'g' })
      await stream.subscribe(dead, (m) => deadGroup.push(m.data), { group: 'g' })
      await waitFor(async () => (await server.cmd('XLEN', `${prefix}:dead:${orders}`)) === 1, { what: 'the dead letter', timeoutMs: 10000 })
      // The topic `orders:dead` is a topic of its own: its publishes reach its subscribers,
      // not the dead letters of `orders`, and its subscribers never read those.
      await stream.publish(dead, { type: 't', data: 'own' })
      await stream.subscribe(dead, (m) => deadReplay.push(m.data), { fromBeginning: true })
      await waitFor(() => deadGroup.length === 1 && deadReplay.length === 1, { what: 'the own message of orders:dead' })
      await stream.publish(orders, { type: 't', data: 'fine' })
      await waitFor(() => ordersGot.length === 1, { what: 'the next message of orders' })
      assert.deepEqual(deadGroup, ['own'])
      assert.deepEqual(deadReplay, ['own'])
      assert.deepEqual(ordersGot, ['fine'])
      assert.equal(await server.cmd('XLEN', `${prefix}:dead:${orders}`), 1)
      // Queues: `q:jobs` and `q` share no key.
      const q = unique('q')
      await queue.enqueue(q, { name: 'a', data: 1 })
      await queue.enqueue(`${q}:jobs`, { name: 'b', data: 2 })
      await queue.enqueue(`${q}:jobs`, { name: 'c', data: 3 })
      assert.equal((await queue.getJobs(q)).length, 1)
      assert.equal((await queue.getJobs(`${q}:jobs`)).length, 2)
    } finally {
      await stream.close()
      await queue.close()
      await server.close()
    }
  })

  test('a message delivered too often goes to the dead-letter stream, not to a member', async () => {
    const server = await startRedis()
    const stream = new RedisStreamAdapter({ connection: server.connection, prefix: 'dl', claimIdleMs: 100, maxDeliveries: 2 })
    try {
      const topic = unique('poison')
      const key = `dl:stream:${topic}`
      await server.cmd('XGROUP', 'CREATE', key, 'g', '$', 'MKSTREAM')
      await stream.publish(topic, { type: 't', data: 'poison' })
      // A consumer that keeps crashing on it: three deliveries, never acknowledged.
      await server.cmd('XREADGROUP', 'GROUP', 'g', 'crashy', 'STREAMS', key, '>')
      await server.cmd('XREADGROUP', 'GROUP', 'g', 'crashy', 'STREAMS', key, '0')
      await server.cmd('XREADGROUP', 'GROUP', 'g', 'crashy', 'STREAMS', key, '0')
      const got = []
      await stream.subscribe(topic, (m) => got.push(m.data), { group: 'g' })
      // Dead letters have a namespace of their own (docs/REDIS.md: names never collide).
      const dead = `dl:dead:${topic}`
      await waitFor(async () => (await server.cmd('XLEN', dead)) === 1, { what: 'a dead letter', timeoutMs: 10000 })
      const [[, fields]] = await server.cmd('XRANGE', dead, '-', '+')
      assert.equal(JSON.parse(fields[1]).data, 'poison')
      await waitFor(async () => (await server.cmd('XPENDING', key, 'g'))[0] === 0, { what: 'acknowledged' })
      assert.deepEqual(got, [])
      await stream.publish(topic, { type: 't', data: 'fine' })
      await waitFor(() => got.length === 1, { what: 'the next message' })
      assert.deepEqual(got, ['fine'])
    } finally {
      await stream.close()
      await server.close()
    }
  })
})
