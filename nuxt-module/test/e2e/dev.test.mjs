// `nuxi dev` of the `basic` fixture: the native addon loads in the dev server's Nitro worker,
// a worker function runs, and a function file added while the server runs is picked up
// after the reload (the addon keeps working across it).
import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fixture, freePort, nuxi, requireBuiltEngine, startProcess, waitFor } from './helpers.mjs'

requireBuiltEngine()

const rootDir = fixture('basic')
const added = join(rootDir, 'server/functions/added-in-dev.ts')
let server
let base

before(async () => {
  await rm(added, { force: true })
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  server = await startProcess(nuxi, ['dev', rootDir, '--port', String(port), '--host', '127.0.0.1'], {
    cwd: rootDir,
    url: `${base}/api/info`,
    env: { NUXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'development' },
  })
}, { timeout: 180_000 })

after(async () => {
  await rm(added, { force: true })
  await server?.stop()
})

const post = (path, body) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(r => r.json())
const get = path => fetch(`${base}${path}`).then(r => r.json())

async function runJob(name, data) {
  const { id } = await post('/api/enqueue', { name, data })
  return waitFor(async () => {
    const { job } = await get(`/api/job?id=${id}`)
    return job && ['completed', 'failed'].includes(job.state) ? job : null
  }, { what: `job ${name} to finish` })
}

test('nuxi dev: adapters are up and a worker from server/functions/ processes a job', async () => {
  const info = await get('/api/info')
  assert.equal(info.labels.stream, 'from-build-hook')
  const job = await runJob('echo', { text: 'dev' })
  assert.equal(job.state, 'completed', job.failedReason)
  assert.deepEqual(job.returnvalue, { echoed: 'dev', job: 'echo' })
})

test('nuxi dev: a function file added at runtime is registered after the reload', async () => {
  await writeFile(added, [
    'export const config = defineFunctionConfig({ queue: { name: \'fixture\' } })',
    'export default defineFunction(async () => \'added\')',
    '',
  ].join('\n'))
  const job = await waitFor(async () => {
    const j = await runJob('added-in-dev', {})
    return j.state === 'completed' ? j : null
  }, { timeout: 60_000, interval: 500, what: 'the new function to be registered' })
  assert.equal(job.returnvalue, 'added')
  // The engine still works after the Nitro worker was replaced.
  assert.equal((await runJob('echo', { text: 'again' })).state, 'completed')
})
