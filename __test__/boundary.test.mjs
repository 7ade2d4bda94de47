// The N-API boundary's guarantees (SPEC §1, §2): both module systems export the same API,
// errors keep their code on sync throws and async rejections, panics never abort Node, the
// addon loads in worker threads, and a process exits by itself without close().
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { spawnSync } from 'node:child_process'
import { Worker } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import * as esm from '../index.mjs'

const require = createRequire(import.meta.url)
const cjs = require('../index.js')
const native = require('../js/native.js')
const { settle } = require('../js/settle.js')
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))

const EXPORTS = [
  'MemoryQueueAdapter',
  'FileQueueAdapter',
  'RedisQueueAdapter',
  'MemoryStreamAdapter',
  'RedisStreamAdapter',
  'MemoryStoreAdapter',
  'FileStoreAdapter',
  'RedisStoreAdapter',
  'AdapterRegistry',
  'useAdapterRegistry',
  'createAdapters',
  'shutdownAdapters',
  'EventBus',
  'getEventBus',
  'createStreamCoordinator',
  'createWiringRegistry',
  'NventError',
]

test('CommonJS and ESM export every name of SPEC §1, as the same objects', () => {
  for (const name of EXPORTS) {
    assert.equal(typeof cjs[name], 'function', `CommonJS export ${name}`)
    assert.equal(esm[name], cjs[name], `ESM export ${name} is the CommonJS one`)
  }
})

test('NventError is an Error with a code', () => {
  const e = new cjs.NventError('NVENT_NOT_FOUND', 'missing')
  assert.ok(e instanceof Error)
  assert.equal(e.name, 'NventError')
  assert.equal(e.code, 'NVENT_NOT_FOUND')
})

for (const asynchronous of [false, true]) {
  test(`error codes survive ${asynchronous ? 'async rejections' : 'sync throws'}`, async () => {
    for (const code of ['NVENT_NOT_FOUND', 'NVENT_LOCK_LOST', 'NVENT_DATA_DIR_LOCKED', 'NVENT_TIMEOUT']) {
      await assert.rejects(
        settle(() => native.debugFail(code, asynchronous)),
        (err) => err instanceof cjs.NventError && err.code === code && !err.message.includes('\u0001'),
      )
    }
  })
}

for (const mode of ['sync', 'ready', 'async']) {
  test(`a panic (${mode}) becomes NVENT_INTERNAL and Node keeps running`, async () => {
    await assert.rejects(
      settle(() => native.debugPanic(mode)),
      (err) => err instanceof cjs.NventError && err.code === 'NVENT_INTERNAL' && /panic/.test(err.message),
    )
    // The addon still works afterwards.
    assert.equal(native.engineVersion(), require('../package.json').version)
  })
}

test('the addon loads and works in worker threads', async () => {
  const source = `
    const { parentPort } = require('node:worker_threads')
    const engine = require(${JSON.stringify(path.join(root, 'index.js'))})
    ;(async () => {
      const store = new engine.MemoryStoreAdapter()
      await store.kv.set('k', { fromWorker: true })
      const v = await store.kv.get('k')
      await store.close()
      parentPort.postMessage(v)
    })().catch((e) => parentPort.postMessage({ error: e.code || String(e) }))
  `
  const results = await Promise.all(
    [1, 2].map(
      () =>
        new Promise((resolve, reject) => {
          const w = new Worker(source, { eval: true })
          w.once('message', resolve)
          w.once('error', reject)
        }),
    ),
  )
  assert.deepEqual(results, [{ fromWorker: true }, { fromWorker: true }])
})

test('a process that never calls close() exits when its work is done', () => {
  const script = `
    const engine = require(${JSON.stringify(path.join(root, 'index.js'))})
    ;(async () => {
      const store = new engine.MemoryStoreAdapter()
      const stream = new engine.MemoryStreamAdapter()
      const queue = new engine.MemoryQueueAdapter()
      const bus = engine.getEventBus()
      bus.onType('*', () => {})
      await store.stream.subscribe('s', () => {})
      await stream.subscribe('t:*', () => {})
      queue.on('q', 'completed', () => {})
      let done = 0
      await queue.registerWorker('q', 'job', async () => { done++ })
      await queue.enqueueBulk('q', Array.from({ length: 20 }, (_, i) => ({ name: 'job', data: { i } })))
      await store.stream.append('s', { type: 'x', runId: 'r' })
      await stream.publish('t:1', { type: 'y', data: 1 })
      process.on('exit', () => console.log('done=' + done))
    })()
  `
  const r = spawnSync(process.execPath, ['-e', script], { timeout: 30000, encoding: 'utf8' })
  assert.equal(r.error, undefined, 'the child exited by itself within 30 s')
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /done=20/)
})
