// Dead peers (SPEC §9: every long-lived connection detects a dead peer and reconnects by
// itself). A TCP proxy written here sits between the adapters and a test redis-server;
// `freeze()` makes it silently drop everything on the connections it carries, in both
// directions, without closing a socket — what a NAT or load balancer that forgot an idle
// flow does. New connections through it work. Every listener must notice within a bounded
// time (commandTimeout is the bound, see docs/REDIS.md "Connections"), reconnect and go on:
// plain subscribers (with their `nvent.stream.gap`), group and fromBeginning subscribers,
// store subscribers, queue `on()` listeners and an idle worker's wake-up.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { RedisStoreAdapter, RedisStreamAdapter, RedisQueueAdapter, getEventBus } from '../index.mjs'
import { haveRedis, startRedis } from './helpers/redis-server.mjs'
import { unique } from './helpers/expect.mjs'
import { waitFor } from './helpers/wait.mjs'

const skip = !haveRedis() && 'redis-server not installed'

/** A proxy to `port` whose current connections can be frozen (see the file's opening). */
async function blackholeProxy(port) {
  const pairs = new Set()
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1')
    const pair = { frozen: false, client, upstream }
    pairs.add(pair)
    client.on('data', (d) => pair.frozen || upstream.write(d))
    upstream.on('data', (d) => pair.frozen || client.write(d))
    const end = () => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    for (const s of [client, upstream]) {
      s.on('error', end)
      s.on('close', end)
    }
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  return {
    port: server.address().port,
    /** Blackholes every connection open now; returns how many. */
    freeze() {
      for (const p of pairs) p.frozen = true
      return pairs.size
    },
    close() {
      for (const p of pairs) {
        p.client.destroy()
        p.upstream.destroy()
      }
      return new Promise((r) => server.close(r))
    },
  }
}

describe('redis: dead peers', { skip }, () => {
  test('listeners, subscribers and an idle worker recover from connections that silently stop', async () => {
    const server = await startRedis()
    const proxy = await blackholeProxy(server.port)
    // The dead-peer bound: a reply is due within its BLOCK time plus commandTimeout.
    const connection = { host: '127.0.0.1', port: proxy.port, commandTimeout: 500, connectTimeout: 2000 }
    const prefix = unique('dp')
    const stream = new RedisStreamAdapter({ connection, prefix })
    const store = new RedisStoreAdapter({ connection, prefix })
    const queue = new RedisQueueAdapter({ connection, prefix })
    // The writers reach the server directly, so only the listeners' paths are frozen.
    const direct = { ...server.connection }
    const pub = new RedisStreamAdapter({ connection: direct, prefix })
    const writer = new RedisStoreAdapter({ connection: direct, prefix })
    const producer = new RedisQueueAdapter({ connection: direct, prefix })
    const gaps = []
    const off = getEventBus().onType('nvent.stream.gap', (e) => gaps.push(e))
    try {
      const topic = unique('dp:topic')
      const subject = unique('dp:subject')
      const q = unique('dp:q')
      const plain = []
      const grouped = []
      const replayed = []
      const appended = []
      const completed = []
      const ran = []
      await stream.subscribe(topic, (m) => plain.push(m.data))
      await stream.subscribe(topic, (m) => grouped.push(m.data), { group: 'g' })
      await stream.subscribe(topic, (m) => replayed.push(m.data), { fromBeginning: true })
      await store.stream.subscribe(subject, (e) => appended.push(e.data))
      await queue.on(q, 'completed', (p) => completed.push(p.jobId))
      await queue.registerWorker(q, 'job', async (job) => {
        ran.push(job.data.n)
        return job.data.n
        // A finish sent on the frozen command connection is lost with it (that connection
        // notices on its first command, which times out): a short lease reruns the job.
      }, { concurrency: 1, lockDuration: 1500, stalledInterval: 500 })
      // Everything works through the proxy first.
      await pub.publish(topic, { type: 't', data: 0 })
      await writer.stream.append(subject, { type: 't', data: 0 })
      await producer.enqueue(q, { name: 'job', data: { n: 0 } })
      await waitFor(() => plain.length === 1 && grouped.length === 1 && replayed.length === 1 && appended.length === 1,
        { what: 'first deliveries' })
      await waitFor(() => ran.length === 1 && completed.length === 1, { what: 'first job and its completed event' })
      // The idle worker's wake-up path, the readers and the pub/sub connection go silent.
      assert.ok(proxy.freeze() >= 5, 'connections frozen')
      const frozenAt = Date.now()
      // Written while the paths are dead: the stream-backed readers resume from their
      // cursors and get it; plain pub/sub loses it (at-most-once) and says so with a gap.
      await pub.publish(topic, { type: 't', data: 1 })
      await writer.stream.append(subject, { type: 't', data: 1 })
      await waitFor(() => gaps.some((g) => g.data.source === 'stream'), { what: 'the gap event', timeoutMs: 15000 })
      const noticedMs = Date.now() - frozenAt
      await waitFor(() => grouped.includes(1) && replayed.includes(1) && appended.includes(1),
        { what: 'stream-backed readers resumed', timeoutMs: 15000 })
      // After the reconnect everything is live again, the idle worker's wake-up included.
      await waitFor(async () => {
        await pub.publish(topic, { type: 't', data: 2 })
        return plain.includes(2)
      }, { what: 'plain subscriber live again', intervalMs: 200, timeoutMs: 15000 })
      await producer.enqueue(q, { name: 'job', data: { n: 2 } })
      await waitFor(() => ran.includes(2), { what: 'the idle worker woke for a new job', timeoutMs: 15000 })
      await waitFor(() => completed.length >= 2, { what: 'the completed event of the new job', timeoutMs: 15000 })
      // commandTimeout 500 ms: the pub/sub connection's PING (after 1 s quiet) goes unanswered
      // within 0.5 s; generous bound for a loaded machine.
      assert.ok(noticedMs < 10000, `dead peer noticed after ${noticedMs} ms`)
    } finally {
      off()
      for (const a of [stream, store, queue, pub, writer, producer]) await a.close()
      await proxy.close()
      await server.close()
    }
  })
})
