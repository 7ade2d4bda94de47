// The engine's ESM entry, traced the way Nitro's tracer (@vercel/nft) traces an external:
// the files it finds are the files a traced `.output` gets. index.mjs once loaded index.js
// through createRequire, which the tracer does not follow: only index.mjs was shipped.
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { test } from 'node:test'
import { nodeFileTrace } from '@vercel/nft'
import { moduleRoot } from '../e2e/helpers.mjs'

const engineRoot = join(moduleRoot, '..')

test('tracing the engine\'s ESM entry finds its CommonJS entry, the JS layer, the loader and the binary', async () => {
  const { fileList } = await nodeFileTrace([join(engineRoot, 'index.mjs')], { base: engineRoot, exportsOnly: true })
  const files = [...fileList].map(f => relative(engineRoot, join(engineRoot, f)))
  for (const f of ['index.mjs', 'index.js', 'native.js', 'js/registry.js', 'js/native.js']) assert.ok(files.includes(f), `${f} not traced: ${files.join(', ')}`)
  const binaries = readdirSync(engineRoot).filter(f => f.endsWith('.node'))
  assert.ok(binaries.length > 0, 'the engine is built')
  assert.ok(binaries.some(b => files.includes(b)), `no .node traced: ${files.join(', ')}`)
})
