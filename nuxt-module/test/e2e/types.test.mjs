// Types as an app sees them: `nuxi prepare` of the `basic` fixture, then `tsc` over the
// generated server and node projects. The fixture's type-checks files use the auto-imports,
// the build hook and the runtime hooks, with @ts-expect-error lines that fail if any of
// them lost its types (an `any` makes the directive unused, which tsc reports).
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { before, test } from 'node:test'
import { fixture, moduleRoot, nuxi, run } from './helpers.mjs'

const rootDir = fixture('basic')
const tsc = join(moduleRoot, 'node_modules/.bin/tsc')

before(() => run(nuxi, ['prepare', rootDir], { cwd: rootDir }), { timeout: 120_000 })

test('tsc: the module\'s build-time side (tsconfig.module.json) has no errors', async () => {
  const output = await run(tsc, ['-p', join(moduleRoot, 'tsconfig.module.json')], { cwd: moduleRoot }).catch(error => error.message)
  assert.equal(output.trim(), '')
})

for (const project of ['server', 'node']) {
  test(`tsc: .nuxt/tsconfig.${project}.json of the basic fixture has no errors`, async () => {
    const output = await run(tsc, ['--noEmit', '-p', join(rootDir, `.nuxt/tsconfig.${project}.json`)], { cwd: rootDir })
      .catch(error => error.message)
    assert.equal(output.trim(), '')
  })
}
