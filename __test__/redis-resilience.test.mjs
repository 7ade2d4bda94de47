// Redis outages and security (SPEC §2, §4, §9): a restarted server (calls fail with
// NVENT_BACKEND_UNAVAILABLE meanwhile, then succeed by themselves), a killed pub/sub
// connection (resubscribed, `nvent.stream.gap` on the bus), killed connections of a store
// subscription reader (no append lost), wrong credentials (NVENT_AUTH
// with no password in the message), a least-privilege ACL user, and TLS with a throwaway CA.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RedisStoreAdapter, RedisStreamAdapter, getEventBus } from '../index.mjs'
import { haveRedis, startRedis, freePort } from './helpers/redis-server.mjs'
import { unique, settle } from './helpers/expect.mjs'
import { waitFor } from './helpers/wait.mjs'

const skip = !haveRedis() && 'redis-server not installed'

function haveOpenssl() {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

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

describe('redis: TLS', { skip: skip || (!haveOpenssl() && 'openssl not installed') }, () => {
  test('rediss:// with a CA made for the test', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nvent-tls-'))
    const f = (n) => join(dir, n)
    const ssl = (...a) => execFileSync('openssl', a, { stdio: 'ignore' })
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '1', '-subj', '/CN=nvent test CA')
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost')
    const ext = f('ext.cnf')
    execFileSync('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > '${ext}'`])
    ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.crt'), '-days', '1', '-extfile', ext)
    const tlsPort = await freePort()
    const server = await startRedis({
      extra: ['--tls-port', String(tlsPort), '--tls-cert-file', f('server.crt'), '--tls-key-file', f('server.key'), '--tls-ca-cert-file', f('ca.crt'), '--tls-auth-clients', 'no'],
    })
    const ca = readFileSync(f('ca.crt'), 'utf8')
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
      rmSync(dir, { recursive: true, force: true })
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
      await waitFor(async () => (await server.cmd('XLEN', `${key}:dead`)) === 1, { what: 'a dead letter', timeoutMs: 10000 })
      const [[, fields]] = await server.cmd('XRANGE', `${key}:dead`, '-', '+')
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
