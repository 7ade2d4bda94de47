#!/usr/bin/env node
// `npm test` of @nvent/nuxt. Prepares what the tests need, runs them with node's test runner
// one file at a time (2-core machines; every e2e file builds a Nuxt app), and ends with a
// plain "N passed, N failed" line. Exits non-zero on any failure.
//
// Preparation:
//  - refresh node_modules/@nvent/engine when the repo's engine changed: with install-links
//    npm copies the engine once and never refreshes it after an addon rebuild;
//  - install Debian's chromium for the browser test when /usr/bin/chromium is missing.
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const moduleRoot = fileURLToPath(new URL('..', import.meta.url))
const engineRoot = join(moduleRoot, '..')
const installedEngine = join(moduleRoot, 'node_modules/@nvent/engine')
const CHROMIUM = '/usr/bin/chromium'
const started = Date.now()
const seconds = since => `${((Date.now() - since) / 1000).toFixed(1)} s`

function sh(command, args, options = {}) {
  console.log(`$ ${command} ${args.join(' ')}`)
  const result = spawnSync(command, args, { stdio: 'inherit', ...options })
  return result.status === 0
}

// The files npm puts into the engine package (its `files` field), with their hashes.
function engineFingerprint(root) {
  const { files = [] } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  const hash = createHash('sha256')
  const visit = (path) => {
    if (!existsSync(path)) return
    if (statSync(path).isDirectory()) {
      for (const entry of readdirSync(path).sort()) visit(join(path, entry))
      return
    }
    hash.update(relative(root, path)).update('\0').update(readFileSync(path))
  }
  const patterns = ['package.json', ...files]
  for (const pattern of patterns) {
    if (pattern.startsWith('*.')) {
      for (const entry of readdirSync(root).filter(f => f.endsWith(pattern.slice(1))).sort()) visit(join(root, entry))
    }
    else {
      visit(join(root, pattern.replace(/\/$/, '')))
    }
  }
  return hash.digest('hex')
}

function refreshEngine() {
  if (!existsSync(join(engineRoot, 'native.js'))) {
    console.log('! the engine at the repo root is not built (no native.js): e2e tests will fail; build it with `npm run build:debug` there')
    return
  }
  if (existsSync(installedEngine) && engineFingerprint(engineRoot) === engineFingerprint(installedEngine)) return
  console.log('· the repo\'s engine changed since it was installed here: reinstalling @nvent/engine')
  rmSync(installedEngine, { recursive: true, force: true })
  if (!sh('npm', ['install', '--no-audit', '--no-fund'], { cwd: moduleRoot })) throw new Error('npm install failed')
}

function ensureChromium() {
  if (existsSync(CHROMIUM)) return
  console.log(`· ${CHROMIUM} is missing: installing Debian's chromium for the browser test`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const install = () => sh('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { env })
  if (!install() && !(sh('apt-get', ['update'], { env }) && install())) {
    throw new Error(`could not install chromium with apt-get; the browser test needs ${CHROMIUM}`)
  }
}

let phase = Date.now()
refreshEngine()
ensureChromium()
console.log(`· prepared in ${seconds(phase)}`)

const files = [
  ...readdirSync(join(moduleRoot, 'test/unit')).filter(f => f.endsWith('.test.mjs')).sort().map(f => `test/unit/${f}`),
  ...readdirSync(join(moduleRoot, 'test/e2e')).filter(f => f.endsWith('.test.mjs')).sort().map(f => `test/e2e/${f}`),
]
phase = Date.now()
const child = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=300000', ...files], {
  cwd: moduleRoot,
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, NUXT_TELEMETRY_DISABLED: '1' },
})
const counts = { pass: 0, fail: 0, skipped: 0, cancelled: 0, todo: 0 }
let buffered = ''
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk)
  buffered += chunk
  let end
  while ((end = buffered.indexOf('\n')) !== -1) {
    const line = buffered.slice(0, end)
    buffered = buffered.slice(end + 1)
    const match = /^# (pass|fail|skipped|cancelled|todo) (\d+)$/.exec(line)
    if (match) counts[match[1]] = Number(match[2])
  }
})
child.on('close', (code, signal) => {
  const failed = counts.fail + counts.cancelled
  console.log(`· tests ran in ${seconds(phase)}; total ${seconds(started)}`)
  console.log(`nuxt: ${counts.pass} passed, ${failed} failed, ${counts.skipped} skipped`)
  process.exit(code === 0 && failed === 0 ? 0 : (code || 1))
})
