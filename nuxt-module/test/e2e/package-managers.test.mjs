// Production builds of an app with @nvent/nuxt as each package manager installs it (issue 15,
// item 5): npm with the engine as a `file:` link (a symlink: no install-links), pnpm (its
// isolated layout keeps the engine out of the app's reach, under node_modules/.pnpm) and yarn
// classic. (npm with real directories, as install-links and tarballs give: pack.test.mjs.)
// Each `.output` is copied out of the app and booted there, and a job runs on the engine.
//
// To keep CI short the apps only install the two packages (and @nuxt/kit, pinned to the
// version here): they live under test/.pm/, so `nuxt` itself resolves from this package's
// node_modules. pnpm and yarn come from the npm registry into test/.pm/tools, once.
import assert from 'node:assert/strict'
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { existsSync, lstatSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { freePort, moduleRoot, nuxi, requireBuiltEngine, run, startProcess } from './helpers.mjs'
import { files, pack } from './packed-app.mjs'

requireBuiltEngine()

const engineRoot = join(moduleRoot, '..')
const area = join(moduleRoot, 'test/.pm')
const tools = join(area, 'tools')
const packs = join(area, 'packs')
const KIT_VERSION = JSON.parse(await readFile(join(moduleRoot, 'node_modules/@nuxt/kit/package.json'), 'utf8')).version
const timings = {}
let engineTgz
let moduleTgz

async function timed(label, fn) {
  const t = Date.now()
  const result = await fn()
  timings[label] = `${((Date.now() - t) / 1000).toFixed(1)} s`
  return result
}

before(async () => {
  await rm(packs, { recursive: true, force: true })
  await mkdir(packs, { recursive: true })
  ;[engineTgz, moduleTgz] = await timed('pack', () => Promise.all([pack(engineRoot, packs), pack(moduleRoot, packs)]))
  if (!existsSync(join(tools, 'node_modules/.bin/pnpm')) || !existsSync(join(tools, 'node_modules/.bin/yarn'))) {
    await mkdir(tools, { recursive: true })
    await writeFile(join(tools, 'package.json'), '{ "private": true }\n')
    await timed('tools', () => run('npm', ['install', '--no-audit', '--no-fund', 'pnpm@10', 'yarn@1'], { cwd: tools }))
  }
}, { timeout: 300_000 })

after(() => console.log(`# package manager timings: ${JSON.stringify(timings)}`))

const managers = {
  'npm, engine as a file: link (no install-links)': {
    dir: 'npm-link',
    manifest: () => ({}),
    install: app => run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--install-links=false', `@nuxt/kit@${KIT_VERSION}`, moduleTgz, `file:${engineRoot}`], { cwd: app }),
    check: app => assert.ok(lstatSync(join(app, 'node_modules/@nvent/engine')).isSymbolicLink(), 'the engine is a symlink'),
  },
  'pnpm (isolated node_modules)': {
    dir: 'pnpm',
    manifest: () => ({ pnpm: { overrides: { '@nvent/engine': `file:${engineTgz}`, '@nuxt/kit': KIT_VERSION } } }),
    install: app => run(join(tools, 'node_modules/.bin/pnpm'), ['add', '--prefer-offline', '--store-dir', join(tools, 'pnpm-store'), `file:${moduleTgz}`], { cwd: app, env: { ...process.env, CI: '1' } }),
    check: app => assert.ok(!existsSync(join(app, 'node_modules/@nvent/engine')), 'the engine is not in the app\'s node_modules'),
  },
  'yarn classic': {
    dir: 'yarn',
    // `yarn add` looks the engine up in the registry before applying resolutions; `install` does not.
    manifest: () => ({
      dependencies: { '@nvent/nuxt': `file:${moduleTgz}` },
      resolutions: { '@nvent/engine': `file:${engineTgz}`, '**/@nvent/engine': `file:${engineTgz}`, '@nuxt/kit': KIT_VERSION },
    }),
    install: app => run(join(tools, 'node_modules/.bin/yarn'), ['install', '--non-interactive', '--no-lockfile', '--prefer-offline', '--cache-folder', join(tools, 'yarn-cache')], { cwd: app }),
    check: app => assert.ok(existsSync(join(app, 'node_modules/@nvent/engine/index.js'))),
  },
}

for (const [label, pm] of Object.entries(managers)) {
  describe(label, () => {
    const app = join(area, pm.dir)
    let deploy
    let server
    let base

    before(async () => {
      await rm(app, { recursive: true, force: true })
      for (const [path, contents] of Object.entries(files)) {
        await mkdir(join(app, path, '..'), { recursive: true })
        await writeFile(join(app, path), contents())
      }
      const manifest = { ...JSON.parse(files['package.json']()), ...pm.manifest() }
      await writeFile(join(app, 'package.json'), JSON.stringify(manifest, null, 2))
      await timed(`${pm.dir} install`, () => pm.install(app))
      await timed(`${pm.dir} build`, () => run(nuxi, ['build'], { cwd: app, env: { ...process.env, NODE_ENV: 'production', NUXT_TELEMETRY_DISABLED: '1' } }))
      deploy = join(tmpdir(), `nvent-pm-${pm.dir}-${process.pid}`)
      await rm(deploy, { recursive: true, force: true })
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
      if (deploy) await rm(deploy, { recursive: true, force: true })
    })

    test('installed as this package manager lays it out', () => pm.check(app))

    test('the copied .output has the engine\'s entry points and binary, boots, and runs a job', async () => {
      const shipped = await readdir(join(deploy, '.output/server/node_modules/@nvent/engine'))
      for (const f of ['index.mjs', 'index.js', 'native.js', 'js', 'package.json']) assert.ok(shipped.includes(f), `${f} missing: ${shipped.join(', ')}`)
      assert.ok(shipped.some(f => f.endsWith('.node')), `no .node in ${shipped.join(', ')}`)
      const res = await fetch(`${base}/api/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ who: pm.dir }) })
      assert.equal(res.status, 200, await res.clone().text())
      const job = await res.json()
      assert.equal(job.state, 'completed', job.failedReason)
      assert.equal(job.returnvalue, `hello ${pm.dir}`)
    })
  })
}
