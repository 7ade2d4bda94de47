// The small app the packaging tests install @nvent/nuxt into (pack.test.mjs with npm,
// package-managers.test.mjs with npm links, pnpm and yarn), and `npm pack` of a package.
import { join } from 'node:path'
import { run } from './helpers.mjs'

// `npm pack --json` prints its JSON array on stdout, but a prepack script (the module's
// build) may print there too, and its log lines start with `[info]`: the array is the part
// from the line that is a lone `[`.
export async function pack(dir, work) {
  const out = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: dir, stdoutOnly: true })
  const start = out.search(/^\[$/m)
  if (start < 0) throw new Error(`npm pack printed no JSON in ${dir}:\n${out.slice(-2000)}`)
  return join(work, JSON.parse(out.slice(start)).at(-1).filename)
}

export const files = {
  'package.json': () => JSON.stringify({ name: 'nvent-pack-app', private: true, type: 'module' }, null, 2),
  'nuxt.config.ts': () => `export default defineNuxtConfig({
  modules: ['@nvent/nuxt'],
  nvent: { queue: { adapter: 'memory' }, stream: { adapter: 'memory' }, store: { adapter: 'memory' } },
  devtools: { enabled: false },
  telemetry: false,
  compatibilityDate: '2025-07-15',
})
`,
  'app/app.vue': () => '<template><div>packed app</div></template>\n',
  'server/functions/greet.ts': () => `export const config = defineFunctionConfig({ queue: { name: 'greetings' } })
export default defineFunction<{ who: string }, string>(async job => \`hello \${job.data.who}\`)
`,
  'server/api/run.post.ts': () => `// Enqueue, wait for the worker, return the job.
export default defineEventHandler(async (event) => {
  const { who } = await readBody<{ who: string }>(event)
  const queue = useQueueAdapter()
  const id = await queue.enqueue('greetings', { name: 'greet', data: { who } })
  for (let i = 0; i < 200; i++) {
    const job = await queue.getJob('greetings', id)
    if (job && (job.state === 'completed' || job.state === 'failed')) return job
    await new Promise(resolve => setTimeout(resolve, 25))
  }
  throw createError({ statusCode: 504, statusMessage: 'job did not finish' })
})
`,
  'server/api/kv.post.ts': () => `export default defineEventHandler(async (event) => {
  const { key, value } = await readBody(event)
  await useStoreAdapter().kv.set(key, value)
  return { value: await useStoreAdapter().kv.get(key) }
})
`,
}

