// The event-loop connection (src/redis/looped.rs, src/eventloop.rs): commands made on the
// JS thread travel on a connection the JS thread's own libuv loop reads. These tests show
// that it is used, that losing it fails only what it had in flight (NVENT_BACKEND_UNAVAILABLE)
// and the next calls succeed, that worker threads get their own and exit cleanly, and that
// NVENT_LOOP_IO=0 (everything on the shared connection) behaves the same.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Worker } from 'node:worker_threads'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { RedisStoreAdapter, RedisQueueAdapter } from '../index.mjs'
import { haveRedis, startRedis } from './helpers/redis-server.mjs'
import { unique } from './helpers/expect.mjs'
import { waitFor } from './helpers/wait.mjs'

const skip = !haveRedis() && 'redis-server not installed'
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')

/** The clients of the server as `[{ id, name, cmd, ... }]` (CLIENT LIST). */
async function clients(server) {
  const text = await server.cmd('CLIENT', 'LIST')
  return String(text)
    .trim()
    .split('\n')
    .map((line) => Object.fromEntries(line.split(' ').map((kv) => kv.split('=', 2))))
}

const loopClients = async (server) => (await clients(server)).filter((c) => c.name === 'nvent-loop')

/** Runs `code` (an ES module body with `engine` and `connection` in scope) in a child process. */
function child(code, connection, env = {}) {
  const body = `
    const engine = await import(${JSON.stringify(path.join(root, 'index.mjs'))})
    const connection = ${JSON.stringify(connection)}
    ${code}
  `
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', body], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (err += d))
    // A child that does not exit by itself fails its test instead of hanging the suite.
    const timer = setTimeout(() => p.kill('SIGKILL'), 30000)
    p.on('error', reject)
    p.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, out, err })
    })
  })
}

describe('redis: the event-loop connection', { skip }, () => {
  let server
  before(async () => {
    server = await startRedis()
  })
  after(async () => {
    await server?.close()
  })

  test('commands made on the JS thread travel on the event-loop connection', async () => {
    const store = new RedisStoreAdapter({ connection: server.connection, prefix: unique('loop') })
    try {
      // The first calls go out on the shared connection while the loop's connects.
      await waitFor(async () => {
        await store.kv.set('k', { n: 1 })
        return (await loopClients(server)).length === 1
      }, { what: 'the event-loop connection', timeoutMs: 10000, intervalMs: 20 })
      const [loop] = await loopClients(server)
      await store.kv.get('k')
      await store.index.add('idx', 'a', 1, { x: 1 })
      const [after] = await loopClients(server)
      assert.equal(after.id, loop.id, 'the same connection serves later calls')
      assert.ok(['get', 'evalsha', 'eval'].includes(after.cmd), `last command on it: ${after.cmd}`)
      assert.deepEqual(await store.kv.get('k'), { n: 1 })
    } finally {
      await store.close()
    }
  })

  test('writes larger than the socket takes at once, and replies that come in pieces', async () => {
    const store = new RedisStoreAdapter({ connection: server.connection, prefix: unique('loopbig') })
    try {
      await waitFor(async () => {
        await store.kv.get('warm')
        return (await loopClients(server)).some((c) => c.cmd === 'get')
      }, { what: 'the event-loop connection', timeoutMs: 10000, intervalMs: 20 })
      // One command of 12 MB alone in flight: no reply can come before all of it is written,
      // so the rest goes out only when the loop reports the socket writable again.
      const huge = { blob: 'z'.repeat(12 << 20) }
      await store.kv.set('huge', huge)
      assert.deepEqual(await store.kv.get('huge'), huge)
      // ~24 MB in one turn, then its reads: the replies come in pieces.
      const values = Array.from({ length: 24 }, (_, i) => ({ i, blob: String.fromCharCode(97 + i).repeat(1 << 20) }))
      await Promise.all(values.map((v, i) => store.kv.set(`big${i}`, v)))
      const back = await Promise.all(values.map((_, i) => store.kv.get(`big${i}`)))
      assert.equal(back.length, 24)
      back.forEach((v, i) => assert.deepEqual(v, values[i]))
      const [loop] = await loopClients(server)
      assert.equal(loop.name, 'nvent-loop')
    } finally {
      await store.close()
    }
  })

  test('a killed event-loop connection fails what it had in flight; later calls succeed', async () => {
    const store = new RedisStoreAdapter({ connection: server.connection, prefix: unique('loopkill') })
    const queue = new RedisQueueAdapter({ connection: server.connection, prefix: unique('loopkillq') })
    try {
      await waitFor(async () => {
        await store.kv.get('warm')
        await queue.getJobCounts('q')
        return (await loopClients(server)).length === 2
      }, { what: 'both event-loop connections', timeoutMs: 10000, intervalMs: 20 })
      // Calls in flight while the connections are killed: each either succeeds (its reply
      // came first) or fails with NVENT_BACKEND_UNAVAILABLE, never anything else.
      const inFlight = []
      for (let i = 0; i < 200; i++) {
        inFlight.push(store.kv.set(`k${i}`, i).then(() => 'ok', (e) => e.code))
        inFlight.push(queue.enqueue('q', { name: 'job', data: i }).then(() => 'ok', (e) => e.code))
      }
      await server.cmd('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes')
      const outcomes = await Promise.all(inFlight)
      assert.deepEqual([...new Set(outcomes.filter((o) => o !== 'ok'))].filter((o) => o !== 'NVENT_BACKEND_UNAVAILABLE'), [])
      // Later calls succeed without any help, and a new event-loop connection takes over.
      await waitFor(async () => {
        try {
          await store.kv.set('after', 1)
          await queue.enqueue('q', { name: 'job', data: 'after' })
          return (await loopClients(server)).length === 2
        } catch (e) {
          assert.equal(e.code, 'NVENT_BACKEND_UNAVAILABLE')
          return false
        }
      }, { what: 'new event-loop connections', timeoutMs: 15000, intervalMs: 50 })
      assert.equal(await store.kv.get('after'), 1)
      // Every enqueue that succeeded stored its job.
      const counts = await queue.getJobCounts('q')
      const added = outcomes.filter((o, i) => i % 2 === 1 && o === 'ok').length + 1
      assert.ok(counts.waiting >= added, `${counts.waiting} waiting jobs for ${added} acknowledged adds`)
    } finally {
      await queue.close()
      await store.close()
    }
  })

  test('a reply that waits for a busy JS thread longer than commandTimeout is not a timeout', async () => {
    const store = new RedisStoreAdapter({ connection: { ...server.connection, commandTimeout: 300 }, prefix: unique('loopbusy') })
    try {
      await waitFor(async () => {
        await store.kv.get('warm')
        return (await loopClients(server)).some((c) => c.cmd === 'get')
      }, { what: 'the event-loop connection', timeoutMs: 10000, intervalMs: 20 })
      const set = store.kv.set('k', { v: 1 })
      const got = store.kv.get('k')
      // The batch goes out in a microtask queued before this continuation.
      await Promise.resolve()
      // The server answers at once; this thread reads the replies only after 1 s.
      const until = Date.now() + 1000
      while (Date.now() < until) {}
      await set
      assert.deepEqual(await got, { v: 1 })
    } finally {
      await store.close()
    }
  })

  test('connections the server closed while idle (its timeout) are replaced without failing a call', async () => {
    const idle = await startRedis({ extra: ['--timeout', '1'] })
    const store = new RedisStoreAdapter({ connection: idle.connection, prefix: unique('loopidle') })
    try {
      await store.kv.set('k', 1)
      for (let round = 0; round < 2; round++) {
        // Until an event-loop connection is up, then untouched until the server closes it.
        const [first] = await waitFor(async () => {
          const loops = await loopClients(idle)
          return loops.length === 1 && loops
        }, { what: 'the event-loop connection', timeoutMs: 10000, intervalMs: 20 })
        await waitFor(async () => !(await clients(idle)).some((c) => c.id === first.id), {
          what: 'the server to close the idle connection',
          timeoutMs: 15000,
          intervalMs: 100,
        })
        // A new one opens by itself, before any call needs it.
        await waitFor(async () => (await loopClients(idle)).some((c) => c.id !== first.id), {
          what: 'a replacement event-loop connection',
          timeoutMs: 10000,
          intervalMs: 20,
        })
        // The shared connection was closed as well; calls from JS do not notice either.
        for (let i = 0; i < 10; i++) assert.equal(await store.kv.get('k'), 1)
      }
    } finally {
      await store.close()
      await idle.close()
    }
  })

  test('a worker thread gets its own event-loop connection and exits cleanly', async () => {
    const prefix = unique('loopworker')
    const source = `
      const { parentPort, workerData } = require('node:worker_threads')
      const engine = require(${JSON.stringify(path.join(root, 'index.js'))})
      ;(async () => {
        const store = new engine.RedisStoreAdapter({ connection: workerData.connection, prefix: workerData.prefix })
        for (let i = 0; i < 50; i++) await store.kv.set('w' + i, { i })
        const v = await store.kv.get('w49')
        // No close(): the environment's teardown must stop the loop's watch by itself.
        parentPort.postMessage(v)
      })().catch((e) => parentPort.postMessage({ error: e.code || String(e) }))
    `
    const results = await Promise.all(
      [1, 2].map(
        () =>
          new Promise((resolve, reject) => {
            const w = new Worker(source, { eval: true, workerData: { connection: server.connection, prefix } })
            let value
            w.once('message', (m) => {
              value = m
              // Ends the thread while its connection is still open.
              w.terminate()
            })
            w.once('error', reject)
            w.once('exit', () => resolve(value))
          }),
      ),
    )
    assert.deepEqual(results, [{ i: 49 }, { i: 49 }])
    // This thread goes on working.
    const store = new RedisStoreAdapter({ connection: server.connection, prefix })
    try {
      assert.deepEqual(await store.kv.get('w0'), { i: 0 })
    } finally {
      await store.close()
    }
  })

  test('a process that never calls close() exits when its work is done', async () => {
    const r = await child(
      `const store = new engine.RedisStoreAdapter({ connection, prefix: ${JSON.stringify(unique('loopexit'))} })
       const queue = new engine.RedisQueueAdapter({ connection, prefix: ${JSON.stringify(unique('loopexitq'))} })
       const { command } = await import(${JSON.stringify(path.join(root, '__test__/helpers/redis-server.mjs'))})
       for (let i = 0; i < 20; i++) await store.kv.set('k' + i, i)
       await queue.enqueue('q', { name: 'job', data: 1 })
       // Until both adapters' event-loop connections are up and in use.
       for (let i = 0; i < 500; i++) {
         await store.kv.get('k0')
         await queue.getJobCounts('q')
         const list = String(await command(connection.port, ['CLIENT', 'LIST']))
         if (list.split('\\n').filter((l) => l.includes('name=nvent-loop')).length >= 2) break
         await new Promise((r) => setTimeout(r, 10))
       }
       await store.kv.get('k0')
       console.log(await store.kv.get('k19'))`,
      server.connection,
    )
    assert.equal(r.code, 0, r.err)
    assert.equal(r.out.trim(), '19')
  })

  test('NVENT_LOOP_IO=0 sends everything on the shared connection, with the same results', async () => {
    const prefix = unique('loopoff')
    const code = `
      const { command } = await import(${JSON.stringify(path.join(root, '__test__/helpers/redis-server.mjs'))})
      const store = new engine.RedisStoreAdapter({ connection, prefix: ${JSON.stringify(prefix)} + process.env.NVENT_LOOP_IO })
      const queue = new engine.RedisQueueAdapter({ connection, prefix: ${JSON.stringify(prefix)} + process.env.NVENT_LOOP_IO })
      await store.kv.set('k', { a: [1, 2] })
      await store.index.add('i', 'e1', 5, { s: 'x' })
      await store.stream.append(${JSON.stringify(prefix)} + ':s' + process.env.NVENT_LOOP_IO, { type: 't.x', data: 1 })
      let ran
      const done = new Promise((r) => (ran = r))
      await queue.registerWorker('q', 'job', async (job) => ran(job.data), { concurrency: 1 })
      await queue.enqueue('q', { name: 'job', data: 7 })
      const out = {
        kv: await store.kv.get('k'),
        index: (await store.index.read('i')).map((e) => [e.id, e.score, e.metadata]),
        stream: (await store.stream.read(${JSON.stringify(prefix)} + ':s' + process.env.NVENT_LOOP_IO)).map((e) => e.type),
        job: await done,
      }
      // One batch of every kind of call: written straight into the bytes sent on the
      // event-loop connection, built as a driver pipeline on the shared one.
      const b = ${JSON.stringify(prefix)} + ':b' + process.env.NVENT_LOOP_IO
      const mix = await Promise.all([
        store.kv.set('t', 1, 60),
        store.kv.set('u', 'x'),
        store.stream.append(b, { type: 'a', id: 'mine', ts: 1, n: [1, { d: 'é' }] }),
        store.stream.append(b, { 'we"ird': { '\\\\': 'x' }, type: 'b' }),
        store.kv.get('t'),
        store.kv.get('missing'),
      ])
      out.mix = mix.map((v) => (v && v.id ? { ...v, id: /^\\d+-\\d+$/.test(v.id), ts: v.ts === Number(v.id.split('-')[0]) } : v ?? null))
      out.read = (await store.stream.read(b)).map(({ id, ts, ...rest }) => rest)
      out.ttl = (await store.kv.ttl('t')) > 0 && (await store.kv.ttl('u')) === null
      // Event-loop connections of this process seen by the server, after more calls.
      let loops = 0
      for (let i = 0; i < 100 && (loops === 0 || i < 10); i++) {
        await store.kv.get('k')
        await new Promise((r) => setTimeout(r, 10))
        const list = String(await command(connection.port, ['CLIENT', 'LIST']))
        loops = list.split('\\n').filter((l) => l.includes('name=nvent-loop')).length
      }
      out.loops = loops > 0
      await queue.close()
      await store.close()
      console.log(JSON.stringify(out))
    `
    const a = { type: 'a', n: [1, { d: 'é' }] }
    const b = { 'we"ird': { '\\': 'x' }, type: 'b' }
    const expected = {
      kv: { a: [1, 2] },
      index: [['e1', 5, { s: 'x', version: 0 }]],
      stream: ['t.x'],
      job: 7,
      mix: [null, null, { ...a, id: true, ts: true }, { ...b, id: true, ts: true }, 1, null],
      read: [a, b],
      ttl: true,
    }
    for (const loop of ['0', '1']) {
      const r = await child(code, server.connection, { NVENT_LOOP_IO: loop })
      assert.equal(r.code, 0, `NVENT_LOOP_IO=${loop}: ${r.err}`)
      assert.deepEqual(JSON.parse(r.out.trim().split('\n').pop()), { ...expected, loops: loop === '1' })
    }
  })
})
