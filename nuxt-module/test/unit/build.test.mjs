// Build-time pieces: the recipe registry of the 'nvent:registerAdapter' hook and worker
// discovery across layers (src/build/).
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { createJiti } from 'jiti'

const jiti = createJiti(import.meta.url)
const { createBuildRegistry, renderAdaptersModule } = await jiti.import('../../src/build/registry.ts')
const { functionDirs, isInFunctionDirs, renderFunctionsModule, scanFunctions } = await jiti.import('../../src/build/functions.ts')

describe('build registry', () => {
  test('recipes by kind helper and by add(); export defaults to "default"', () => {
    const r = createBuildRegistry()
    r.registerQueue('q', { from: 'pkg-a', export: 'QueueX', options: { n: 1 } })
    r.add({ name: 's', kind: 'store', from: 'pkg-b', factory: 'createStore' })
    r.registerStream('t', { from: 'pkg-a' })
    assert.deepEqual(r.list(), [
      { name: 'q', kind: 'queue', from: 'pkg-a', export: 'QueueX', options: { n: 1 } },
      { name: 's', kind: 'store', from: 'pkg-b', factory: 'createStore', options: undefined },
      { name: 't', kind: 'stream', from: 'pkg-a', export: 'default', options: undefined },
    ])
  })

  test('a later recipe of the same kind and name replaces the earlier one', () => {
    const r = createBuildRegistry()
    r.registerQueue('q', { from: 'a' })
    r.registerStore('q', { from: 'b' })
    r.registerQueue('q', { from: 'c' })
    assert.deepEqual(r.list().map(x => `${x.kind}:${x.from}`), ['store:b', 'queue:c'])
  })

  test('instances and functions are refused with a message that says what to do', () => {
    const r = createBuildRegistry()
    assert.throws(() => r.registerQueue('q', { enqueue() {} }), /register the instance at runtime/)
    assert.throws(() => r.registerQueue('q', () => ({})), /at build time register where it comes from/)
  })

  test('invalid recipes name the problem', () => {
    const r = createBuildRegistry()
    assert.throws(() => r.add({ name: '', kind: 'queue', from: 'x' }), /non-empty string `name`/)
    assert.throws(() => r.add({ name: 'a', kind: 'pubsub', from: 'x' }), /`kind` 'queue', 'stream' or 'store'/)
    assert.throws(() => r.add({ name: 'a', kind: 'queue', from: '' }), /module specifier/)
    assert.throws(() => r.add({ name: 'a', kind: 'queue', from: 'x', export: 'A', factory: 'b' }), /both `export` and `factory`/)
    const circular = {}
    circular.self = circular
    assert.throws(() => r.add({ name: 'a', kind: 'queue', from: 'x', options: circular }), /must be JSON/)
  })

  test('rendered module imports each specifier once and points at the export', () => {
    const code = renderAdaptersModule([
      { name: 'q', kind: 'queue', from: '/abs/a.ts', export: 'Q', options: { x: 1 } },
      { name: 's', kind: 'store', from: '/abs/a.ts', factory: 'makeStore' },
      { name: 't', kind: 'stream', from: 'pkg', export: 'default' },
    ])
    assert.equal(code.match(/^import /gm).length, 2)
    assert.match(code, /import \* as m0 from "\/abs\/a.ts"/)
    assert.match(code, /name: "q", kind: "queue".*factory: false, target: m0\["Q"\], options: \{"x":1\}/)
    assert.match(code, /name: "s".*factory: true, target: m0\["makeStore"\], options: null/)
    assert.match(code, /target: m1\["default"\]/)
    assert.equal(renderAdaptersModule([]), 'export const recipes = [\n]\n')
  })
})

describe('worker functions', () => {
  const roots = []
  after(() => Promise.all(roots.map(dir => rm(dir, { recursive: true, force: true }))))

  async function layout(files) {
    const root = await mkdtemp(join(tmpdir(), 'nvent-functions-'))
    roots.push(root)
    for (const file of files) {
      await mkdir(join(root, file, '..'), { recursive: true })
      await writeFile(join(root, file), 'export default () => {}\n')
    }
    return root
  }

  test('files of every layer; a higher layer wins for the same path; job name = file name', async () => {
    const root = await layout([
      'app/server/functions/send-email.ts',
      'app/server/functions/reports/weekly.mjs',
      'app/server/functions/types.d.ts',
      'app/server/functions/README.md',
      'base/server/functions/send-email.ts',
      'base/server/functions/cleanup.js',
    ])
    const dirs = functionDirs([join(root, 'app/server'), join(root, 'base/server')], 'functions')
    const found = await scanFunctions([...dirs, join(root, 'missing/functions')])
    assert.deepEqual(found.map(f => [f.key, f.name, f.file.slice(root.length + 1)]), [
      ['cleanup', 'cleanup', 'base/server/functions/cleanup.js'],
      ['reports/weekly', 'weekly', 'app/server/functions/reports/weekly.mjs'],
      ['send-email', 'send-email', 'app/server/functions/send-email.ts'],
    ])
    assert.ok(isInFunctionDirs(join(root, 'base/server/functions/new.ts'), dirs))
    assert.ok(!isInFunctionDirs(join(root, 'base/server/api/new.ts'), dirs))
    assert.ok(!isInFunctionDirs(dirs[0], dirs))
  })

  test('an absolute dir option is used as is', () => {
    assert.deepEqual(functionDirs(['/a/server', '/b/server'], '/jobs'), ['/jobs'])
    assert.deepEqual(functionDirs(['/a/server'], 'workers'), ['/a/server/workers'])
  })

  test('rendered module imports every file', () => {
    const code = renderFunctionsModule([{ name: 'a', file: '/x/a.ts', key: 'a' }])
    assert.match(code, /import \* as f0 from "\/x\/a.ts"/)
    assert.match(code, /\{ name: "a", file: "\/x\/a.ts", module: f0 \}/)
  })
})
