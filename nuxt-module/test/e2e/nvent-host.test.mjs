// @nvent/nuxt inside nvent (SPEC §10): the `nvent-host` fixture's host module follows nvent
// 0.5's adapter sequence (test/fixtures/nvent-host/host). Two production builds of it, each
// served from .output by `node .output/server/index.mjs`:
//  - runtime: the host calls only nvent 0.5's Nitro hook 'nvent:register-adapters';
//  - build-hook: the host also calls seed 002's build hook `nvent:registerAdapter` and
//    instantiates the recipes registered there.
// Each proves: the engine's adapters are the ones the host uses (our plugin runs first though
// listed after the host), every traced adapter call succeeds, nothing of ours is registered
// twice, and SIGTERM closes the file store (durability 'none': unflushed without close).
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { buildApp, fixture, freePort, requireBuiltEngine, startProcess } from './helpers.mjs'

const { FileStoreAdapter } = requireBuiltEngine()
const rootDir = fixture('nvent-host')
const work = await mkdtemp(join(tmpdir(), 'nvent-host-'))
after(() => rm(work, { recursive: true, force: true }))

const post = (base, path, body) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

for (const mode of ['runtime', 'build-hook']) {
  describe(`inside an nvent-like host (${mode})`, () => {
    const output = join(work, `output-${mode}`)
    const dataDir = join(work, `data-${mode}`)
    const trace = join(work, `trace-${mode}.jsonl`)
    let server
    let base

    before(async () => {
      await buildApp(rootDir, { env: { FIXTURE_OUTPUT_DIR: output, HOST_BUILD_HOOK: mode === 'build-hook' ? '1' : '' } })
      const port = await freePort()
      base = `http://127.0.0.1:${port}`
      server = await startProcess(process.execPath, [join(output, 'server/index.mjs')], {
        cwd: work,
        url: `${base}/api/host/info`,
        env: { PORT: String(port), HOST: '127.0.0.1', NUXT_NVENT_STORE_FILE_DATA_DIR: dataDir, NVENT_ENGINE_TRACE: trace },
      })
    }, { timeout: 300_000 })
    after(() => server?.stop())

    test('the host uses the engine\'s adapters, registered the way this host takes them', async () => {
      const info = await (await fetch(`${base}/api/host/info`)).json()
      assert.deepEqual({ queue: info.queue, stream: info.stream, store: info.store }, { queue: 'MemoryQueueAdapter', stream: 'MemoryStreamAdapter', store: 'FileStoreAdapter' })
      const how = mode === 'runtime' ? 'runtime-hook' : 'build-hook'
      assert.deepEqual(info.registeredBy, [`${how}:queue`, `${how}:stream`, `${how}:store`])
    })

    test('a job of the host\'s worker runs on the engine queue', async () => {
      const job = await (await post(base, '/api/host/job', { n: 1 })).json()
      assert.equal(job.state, 'completed', job.failedReason)
      assert.deepEqual(job.returnvalue, { echoed: { n: 1 } })
    })

    test('nothing the host provides is registered twice: no auto-imports, workers plugin or SSE route of ours', async () => {
      const imports = await readFile(join(rootDir, '.nuxt/types/nitro-imports.d.ts'), 'utf8')
      assert.doesNotMatch(imports, /runtime\/server\/utils\//, 'no auto-imports of @nvent/nuxt')
      assert.match(imports, /registerQueueAdapter/, 'the host\'s registerQueueAdapter stays')
      const nitro = await readFile(join(output, 'server/chunks/nitro/nitro.mjs'), 'utf8')
      assert.doesNotMatch(nitro, /nvent:ready/, 'the standalone plugin is not in the build')
      const sse = await fetch(`${base}/api/_nvent/stream?topic=x`)
      assert.doesNotMatch(sse.headers.get('content-type') ?? '', /event-stream/, 'no SSE route unless configured')
    })

    test('SIGTERM closes the engine store: an acknowledged write is on disk after the shutdown', async () => {
      const res = await post(base, '/api/host/kv', { key: 'acknowledged', value: { mode } })
      assert.equal(res.status, 200)
      await server.stop()
      assert.equal(server.child.signalCode ?? server.child.exitCode, 0, `the server exited after its close hooks ran: ${server.output().slice(-2000)}`)
      const store = new FileStoreAdapter({ dataDir })
      try {
        assert.deepEqual(await store.kv.get('acknowledged'), { mode })
      }
      finally {
        await store.close()
      }
    })

    test('every adapter call the host made succeeded (trace)', async () => {
      assert.ok(existsSync(trace), 'NVENT_ENGINE_TRACE wrote the trace')
      const calls = (await readFile(trace, 'utf8')).trim().split('\n').map(line => JSON.parse(line))
      assert.ok(calls.some(c => c.method === 'kv.set' && c.kind === 'store'), 'store calls are traced')
      assert.ok(calls.some(c => c.method === 'enqueue' && c.kind === 'queue'), 'queue calls are traced')
      assert.deepEqual(calls.filter(c => !c.ok), [])
    })
  })
}
