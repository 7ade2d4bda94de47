#!/usr/bin/env node
// nvent's own e2e tests on the engine (issue 15, "How it is checked"): takes a checkout of
// nvent's source (github DevJoghurt/nuxt-queue, e.g. v0.5.15), installs its workspace with
// pnpm, adds @nvent/nuxt (packed from this repo) to its test/fixtures/base app — that one
// module line and nothing else — and runs test/e2e/{queue,store,flow}.test.ts with nvent's
// memory and file configs, once on nvent's own adapters (baseline) and once on the engine.
// The engine runs write a trace of every adapter call nvent makes (NVENT_ENGINE_TRACE); the
// summary counts passed/failed tests and refused calls per config.
//
//   node nuxt-module/scripts/nvent-e2e.mjs <path-to-nvent-source> [--configs memory,file] [--runs nvent,engine]
//
// It changes the checkout (node_modules, the root package.json's devDependencies and pnpm
// overrides, the fixture's nuxt.config.ts — restored at the end): use a copy made for it.
// Nothing of nvent is copied into this repository. Results: <nvent>/.nvent-e2e/summary.json.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const args = process.argv.slice(2)
const nvent = args[0] && !args[0].startsWith('--') ? resolve(args[0]) : null
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`)
  return i === -1 ? fallback : args[i + 1].split(',')
}
if (!nvent || !existsSync(join(nvent, 'test/fixtures/base/nuxt.config.ts'))) {
  console.error('usage: node nuxt-module/scripts/nvent-e2e.mjs <path-to-nvent-source> [--configs memory,file] [--runs nvent,engine]')
  process.exit(2)
}
const configs = option('configs', ['memory', 'file'])
const runs = option('runs', ['nvent', 'engine'])
const moduleRoot = fileURLToPath(new URL('..', import.meta.url))
const engineRoot = join(moduleRoot, '..')
const out = join(nvent, '.nvent-e2e')
const fixtureConfig = join(nvent, 'test/fixtures/base/nuxt.config.ts')
const TESTS = ['test/e2e/queue.test.ts', 'test/e2e/store.test.ts', 'test/e2e/flow.test.ts']

// pnpm 10 would otherwise fetch the exact version of nvent's `packageManager` field first.
// nvent's own scripts call `pnpm` (its `prepare`): this one is first on PATH.
const PNPM_ENV = { npm_config_manage_package_manager_versions: 'false', CI: '1' }

function sh(command, argv, options = {}) {
  console.log(`$ ${command} ${argv.join(' ')}`)
  const r = spawnSync(command, argv, { stdio: 'inherit', ...options, env: { ...process.env, ...options.env, ...PNPM_ENV } })
  if (r.status !== 0 && !options.allowFail) throw new Error(`${command} exited with ${r.status}`)
  return r.status
}

mkdirSync(out, { recursive: true })

// pnpm, as nvent's workspace uses (packageManager field); from the npm registry, not corepack.
const tools = join(out, 'tools')
const pnpm = join(tools, 'node_modules/.bin/pnpm')
PNPM_ENV.PATH = `${join(tools, 'node_modules/.bin')}:${process.env.PATH}`
if (!existsSync(pnpm)) {
  mkdirSync(tools, { recursive: true })
  writeFileSync(join(tools, 'package.json'), '{ "private": true }\n')
  sh('npm', ['install', '--no-audit', '--no-fund', 'pnpm@10'], { cwd: tools })
}

// The two packages as users get them.
const packs = join(out, 'packs')
rmSync(packs, { recursive: true, force: true })
mkdirSync(packs, { recursive: true })
const pack = (dir) => {
  const r = spawnSync('npm', ['pack', '--json', '--pack-destination', packs], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  if (r.status !== 0) throw new Error(`npm pack failed in ${dir}`)
  return join(packs, JSON.parse(r.stdout.slice(r.stdout.search(/^\[$/m))).at(-1).filename)
}
const engineTgz = pack(engineRoot)
const moduleTgz = pack(moduleRoot)

// Workspace root: @nvent/nuxt as a devDependency, the engine pinned to its tarball.
const rootManifestPath = join(nvent, 'package.json')
const rootManifest = readFileSync(rootManifestPath, 'utf8')
const originalFixture = readFileSync(fixtureConfig, 'utf8')
const manifest = JSON.parse(rootManifest)
manifest.devDependencies = { ...manifest.devDependencies, '@nvent/nuxt': `file:${moduleTgz}` }
// Without `packageManager`, the pnpm that nvent's scripts call runs as it is instead of
// fetching the pinned version first (restored at the end, like the rest of the manifest).
delete manifest.packageManager
manifest.pnpm = { ...manifest.pnpm, overrides: { ...manifest.pnpm?.overrides, '@nvent/engine': `file:${engineTgz}` } }
writeFileSync(rootManifestPath, `${JSON.stringify(manifest, null, 2)}\n`)

// The fixture config per run: nvent's base config, with nvent's file adapters for `file` (as
// test/fixtures/file.config.ts selects them: queue and store share one dataDir), and
// '@nvent/nuxt' added to the modules for the engine runs.
function fixtureFor(config, run) {
  let text = originalFixture
  if (config === 'file') {
    text = text
      .replace(/queue: \{\n(\s+)adapter: 'memory',/, `queue: {\n$1adapter: 'file',\n$1file: { dataDir: '.data-test' },`)
      .replace(/stream: \{\n(\s+)adapter: 'memory',/, 'stream: {\n$1adapter: \'file\',')
      .replace(/store: \{\n(\s+)adapter: 'memory',/, `store: {\n$1adapter: 'file',\n$1file: { dataDir: '.data-test' },`)
    if (!text.includes('.data-test')) throw new Error('the fixture config changed shape: cannot switch it to the file adapters')
  }
  if (run === 'engine') {
    text = text.replace('modules: [NventModule]', 'modules: [NventModule, \'@nvent/nuxt\']')
    if (!text.includes('@nvent/nuxt')) throw new Error('the fixture config changed shape: cannot add @nvent/nuxt')
  }
  return text
}

const summary = {}
try {
  // nvent's `prepare` (stub its packages' dist, `nuxi prepare playground`, whose tsconfig the
  // root tsconfig extends) run here step by step: run as a script, its nested `pnpm` would
  // switch itself to nvent's pinned version first.
  sh(pnpm, ['install', '--no-frozen-lockfile', '--ignore-scripts', '--store-dir', join(tools, 'pnpm-store')], { cwd: nvent })
  sh(pnpm, ['--filter', './packages/**', 'prepack', '--stub'], { cwd: nvent })
  sh(pnpm, ['exec', 'nuxi', 'prepare', 'playground'], { cwd: nvent })
  for (const config of configs) {
    for (const run of runs) {
      const key = `${config}/${run}`
      const trace = join(out, `trace-${config}-${run}.jsonl`)
      const report = join(out, `vitest-${config}-${run}.json`)
      rmSync(trace, { force: true })
      rmSync(report, { force: true })
      rmSync(join(nvent, 'test/fixtures/base/.data-test'), { recursive: true, force: true })
      rmSync(join(nvent, 'test/fixtures/base/.data'), { recursive: true, force: true })
      writeFileSync(fixtureConfig, fixtureFor(config, run))
      console.log(`\n== ${key}`)
      sh(pnpm, ['exec', 'vitest', 'run', '--project', 'e2e', '--reporter=default', '--reporter=json', `--outputFile=${report}`, ...TESTS], {
        cwd: nvent,
        allowFail: true,
        env: { ...process.env, NVENT_ENGINE_TRACE: run === 'engine' ? trace : '', NUXT_TELEMETRY_DISABLED: '1' },
      })
      summary[key] = { ...countTests(report), ...(run === 'engine' ? countTrace(trace) : {}) }
      console.log(`== ${key}: ${JSON.stringify(summary[key])}`)
    }
  }
}
finally {
  writeFileSync(fixtureConfig, originalFixture)
  writeFileSync(rootManifestPath, rootManifest)
}
writeFileSync(join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`)
console.log('\nsummary (tests: passed/failed/skipped; refused: adapter calls the engine refused, by method and code)')
for (const [key, s] of Object.entries(summary)) console.log(`${key}: ${JSON.stringify(s)}`)

function countTests(report) {
  if (!existsSync(report)) return { passed: 0, failed: 0, skipped: 0, error: 'no vitest report' }
  const r = JSON.parse(readFileSync(report, 'utf8'))
  const failures = r.testResults.flatMap(f => f.assertionResults.filter(a => a.status === 'failed').map(a => a.fullName))
  const suiteErrors = r.testResults.filter(f => f.status === 'failed' && f.assertionResults.length === 0).map(f => f.message?.slice(0, 300))
  return { passed: r.numPassedTests, failed: r.numFailedTests, skipped: r.numPendingTests + r.numTodoTests, failures, suiteErrors }
}

function countTrace(trace) {
  if (!existsSync(trace)) return { calls: 0, refused: 0, note: 'no trace written' }
  const lines = readFileSync(trace, 'utf8').trim().split('\n').filter(Boolean).map(l => JSON.parse(l))
  const refused = lines.filter(l => !l.ok)
  const byMethod = {}
  for (const l of refused) {
    const k = `${l.kind}.${l.method} ${l.code}`
    byMethod[k] = (byMethod[k] ?? 0) + 1
  }
  const examples = Object.fromEntries(Object.keys(byMethod).map(k => [k, refused.find(l => `${l.kind}.${l.method} ${l.code}` === k)]).map(([k, l]) => [k, `${l.message} ${l.args ?? ''}`.slice(0, 400)]))
  return { calls: lines.length, refused: refused.length, refusedBy: byMethod, examples }
}
