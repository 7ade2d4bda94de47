// The packages as users get them: `npm pack` of @nvent/engine and @nvent/nuxt, installed
// into a fresh app in a temp dir outside the repo, production build, `.output` copied to a
// clean dir and booted there. Proves the module ships built JS and that the engine stays
// external with its native binary traced into `.output/server/node_modules`.
import assert from 'node:assert/strict'
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { freePort, moduleRoot, requireBuiltEngine, run, startProcess } from './helpers.mjs'
import { files, pack } from './packed-app.mjs'

requireBuiltEngine()

const engineRoot = join(moduleRoot, '..')
const NUXT_VERSION = JSON.parse(await readFile(join(moduleRoot, 'package.json'), 'utf8')).devDependencies.nuxt
const work = await mkdtemp(join(tmpdir(), 'nvent-pack-'))
const app = join(work, 'app')
const deploy = join(work, 'deploy')
const timings = {}
let server
let base

async function timed(label, fn) {
  const t = Date.now()
  const result = await fn()
  timings[label] = `${((Date.now() - t) / 1000).toFixed(1)} s`
  return result
}

before(async () => {
  const [engineTgz, moduleTgz] = await timed('pack', () => Promise.all([pack(engineRoot, work), pack(moduleRoot, work)]))
  for (const [path, contents] of Object.entries(files)) {
    await mkdir(join(app, path, '..'), { recursive: true })
    await writeFile(join(app, path), contents())
  }
  await timed('install', () => run('npm', [
    'install', '--no-audit', '--no-fund', '--prefer-offline',
    `nuxt@${NUXT_VERSION}`, engineTgz, moduleTgz,
  ], { cwd: app }))
  await timed('build', () => run(join(app, 'node_modules/.bin/nuxi'), ['build'], {
    cwd: app,
    env: { ...process.env, NODE_ENV: 'production', NUXT_TELEMETRY_DISABLED: '1' },
  }))
  await cp(join(app, '.output'), join(deploy, '.output'), { recursive: true })
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  server = await startProcess(process.execPath, [join(deploy, '.output/server/index.mjs')], {
    cwd: deploy,
    url: base,
    env: { PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'production' },
  })
}, { timeout: 420_000 })

after(async () => {
  await server?.stop()
  console.log(`# pack test timings: ${JSON.stringify(timings)}`)
  await rm(work, { recursive: true, force: true })
})

test('the installed module ships built JS, not TypeScript sources', async () => {
  const dist = await readdir(join(app, 'node_modules/@nvent/nuxt/dist/runtime/server'))
  assert.ok(dist.includes('plugin.js'), dist.join(', '))
  assert.ok(!dist.some(f => f.endsWith('.ts') && !f.endsWith('.d.ts')), dist.join(', '))
  assert.deepEqual(await readdir(join(app, 'node_modules/@nvent/nuxt')).then(l => l.filter(f => f === 'src')), [])
})

test('the copied .output boots outside the app and a worker processes a job', async () => {
  const res = await fetch(`${base}/api/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ who: 'pack' }) })
  assert.equal(res.status, 200, await res.clone().text())
  const job = await res.json()
  assert.equal(job.state, 'completed', job.failedReason)
  assert.equal(job.returnvalue, 'hello pack')

  const kv = await fetch(`${base}/api/kv`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: 'k', value: { n: 1 } }) })
  assert.deepEqual(await kv.json(), { value: { n: 1 } })
  // The SSE route is off by default: the request falls through to the page renderer.
  const sse = await fetch(`${base}/api/_nvent/stream?topic=${encodeURIComponent('store-sync:append:*')}`)
  assert.doesNotMatch(sse.headers.get('content-type') ?? '', /event-stream/)
  assert.match(sse.headers.get('content-type') ?? '', /text\/html/)
})

test('the engine stays external: traced into .output/server/node_modules with its .node binary', async () => {
  const engineDir = join(deploy, '.output/server/node_modules/@nvent/engine')
  const shipped = await readdir(engineDir)
  assert.ok(shipped.some(f => f.endsWith('.node')), `no .node in ${shipped.join(', ')}`)
  assert.ok(shipped.includes('native.js'), shipped.join(', '))
  const chunk = await readFile(join(deploy, '.output/server/chunks/nitro/nitro.mjs'), 'utf8')
  assert.match(chunk, /from ['"]@nvent\/engine['"]/, 'the server bundle imports the engine package')
  assert.doesNotMatch(chunk, /resolveAdapterConfig/, 'engine code is not inlined into the bundle')
})
