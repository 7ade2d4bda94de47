// The playground in headless Chromium (Debian's /usr/bin/chromium, installed by test/run.mjs):
// click "Enqueue", see the job reach `completed` through the live SSE updates.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { createPage, createTest } from '@nuxt/test-utils/e2e'
import { buildApp, moduleRoot, requireBuiltEngine } from './helpers.mjs'

requireBuiltEngine()

const rootDir = `${moduleRoot}playground`
// The playground runs on the file defaults: give it a data dir of its own, so that jobs of
// an earlier run (or of `npm run playground`) are not on the page.
const dataDir = await mkdtemp(join(tmpdir(), 'nvent-playground-'))
const hooks = createTest({
  rootDir,
  env: { NUXT_NVENT_CONNECTIONS_FILE_DATA_DIR: dataDir },
  build: false,
  server: true,
  browser: true,
  browserOptions: {
    type: 'chromium',
    launch: {
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    },
  },
  nuxtConfig: { nitro: { output: { dir: await buildApp(rootDir) } } },
})
before(hooks.beforeAll, { timeout: 240_000 })
after(async () => {
  await hooks.afterAll()
  await rm(dataDir, { recursive: true, force: true })
}, { timeout: 60_000 })

test('playground: enqueue a job and watch it complete live', async () => {
  const page = await createPage('/')
  try {
    await page.waitForSelector('.status[data-connected="true"]', { timeout: 15_000 })
    await page.getByTestId('enqueue').click()
    const state = page.locator('tr[data-job-id] .state').first()
    await state.waitFor()
    await page.waitForSelector('tr[data-job-id] .state[data-state="completed"]', { timeout: 15_000 })
    assert.equal(await state.textContent(), 'completed')
    // Counts are refreshed in place after the completion event.
    await page.waitForFunction(() => Number(document.querySelector('[data-count="completed"]')?.textContent) >= 1, undefined, { timeout: 10_000 })
    const events = await page.getByTestId('events').textContent()
    assert.match(events, /job\.active/)
    assert.match(events, /job\.completed/)
  }
  finally {
    await page.close()
  }
})
