// The Node.js version check at load (SPEC §1: Node >= 20). The JS layer uses Node 20 APIs
// (String.prototype.isWellFormed); on older Node the package must refuse to load with an
// error naming the required version instead of failing every call with a bare TypeError.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const require = createRequire(import.meta.url)
const { checkNode, MIN_NODE_MAJOR } = require('../js/runtime.js')
const { NventError } = require('../index.js')
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))

test('checkNode refuses Node older than 20 with NVENT_UNSUPPORTED_RUNTIME naming the version', () => {
  assert.equal(MIN_NODE_MAJOR, 20)
  for (const v of ['18.20.4', '19.9.0', '16.0.0', '', 'not a version']) {
    assert.throws(
      () => checkNode(v),
      (e) => {
        assert.ok(e instanceof NventError, v)
        assert.equal(e.code, 'NVENT_UNSUPPORTED_RUNTIME', v)
        assert.match(e.message, />= 20\.0\.0/)
        assert.ok(e.message.includes(`Node.js ${v}`), e.message)
        return true
      },
    )
  }
  for (const v of ['20.0.0', '20.20.2', '22.11.0', '24.0.0-pre']) checkNode(v)
})

/** Loads the package in a child whose `process.versions.node` says `version`. */
function loadAs(version, entry) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nvent-runtime-'))
  try {
    const preload = path.join(dir, 'fake-version.cjs')
    fs.writeFileSync(preload, `Object.defineProperty(process.versions, 'node', { value: ${JSON.stringify(version)} })\n`)
    const load =
      entry === 'cjs'
        ? `try { require(${JSON.stringify(path.join(root, 'index.js'))}) } catch (e) { report(e) }`
        : `import(${JSON.stringify(new URL('../index.mjs', import.meta.url).href)}).catch(report)`
    const report = `function report(e) {
      const addon = Object.keys(require.cache).some((k) => k.endsWith('.node'))
      console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message, addon }))
      process.exit(3)
    }`
    return spawnSync(process.execPath, ['--require', preload, '-e', `${report}\n${load}`], {
      encoding: 'utf8',
      timeout: 60_000,
    })
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

for (const entry of ['cjs', 'esm']) {
  test(`${entry}: loading on Node 18 throws NVENT_UNSUPPORTED_RUNTIME before the addon loads`, () => {
    const r = loadAs('18.20.4', entry)
    assert.equal(r.status, 3, `child exit ${r.status}: ${r.stdout}${r.stderr}`)
    const e = JSON.parse(r.stdout.trim())
    assert.equal(e.name, 'NventError')
    assert.equal(e.code, 'NVENT_UNSUPPORTED_RUNTIME')
    assert.match(e.message, /needs Node\.js >= 20\.0\.0; this is Node\.js 18\.20\.4/)
    assert.equal(e.addon, false, 'the native addon was not loaded')
  })

  test(`${entry}: loading on Node 20 works`, () => {
    const r = loadAs('20.0.0', entry)
    assert.equal(r.status, 0, `child exit ${r.status}: ${r.stdout}${r.stderr}`)
  })
}
