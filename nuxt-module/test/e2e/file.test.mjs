// Production build of the `file` fixture (file queue and store in a temp data dir given by
// NUXT_NVENT_CONNECTIONS_FILE_DATA_DIR at server start).
// The file backends are the zero-config default, so this suite always runs.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { $fetch, createTest, startServer } from '@nuxt/test-utils/e2e'
import { buildApp, fixture, waitForJob } from './helpers.mjs'

const dataDir = await mkdtemp(join(tmpdir(), 'nvent-file-fixture-'))

describe('file fixture (production build)', () => {
  const rootDir = fixture('file')
  const env = { NUXT_NVENT_CONNECTIONS_FILE_DATA_DIR: join(dataDir, 'app') }
  let hooks

  before(async () => {
    hooks = createTest({ rootDir, build: false, server: true, env, nuxtConfig: { nitro: { output: { dir: await buildApp(rootDir) } } } })
    await hooks.beforeAll()
  }, { timeout: 240_000 })
  after(async () => {
    await hooks?.afterAll()
    await rm(dataDir, { recursive: true, force: true })
  }, { timeout: 60_000 })

  test('a job on the file queue is processed by the worker in server/functions/', async () => {
    const { id } = await $fetch('/api/enqueue', { method: 'POST', body: { name: 'echo', data: { text: 'on disk' } } })
    const job = await waitForJob(qid => $fetch('/api/job', { query: { id: qid } }), id)
    assert.equal(job.state, 'completed', job.failedReason)
    assert.deepEqual(job.returnvalue, { echoed: 'on disk' })
    assert.deepEqual((await $fetch('/api/kv', { query: { key: `processed:${id}` } })).value, { text: 'on disk' })
  })

  test('store round trips on the file store', async () => {
    const r = await $fetch('/api/store', { method: 'POST', body: { suffix: 'file' } })
    assert.deepEqual(r.kv, r.value)
    assert.deepEqual(r.entry.metadata, { status: 'seen', stats: { n: 2 }, version: 1 })
    assert.deepEqual(r.events, [r.appended])
  })

  test('data lives under the env-given dir and survives a server restart', async () => {
    assert.ok(existsSync(join(dataDir, 'app/store')), 'store data dir from NUXT_NVENT_CONNECTIONS_FILE_DATA_DIR + /store')
    assert.ok((await readdir(join(dataDir, 'app/store'))).length > 0)
    await $fetch('/api/kv', { method: 'POST', body: { key: 'durable', value: { kept: true } } })
    await startServer(env) // stops the running server (Nitro 'close' releases the data dir) and starts a new one
    assert.deepEqual((await $fetch('/api/kv', { query: { key: 'durable' } })).value, { kept: true })
  })
})
