// The Nitro plugin of @nvent/nuxt (SPEC §10). At server start it
//  1. resolves the config from runtimeConfig (NUXT_NVENT_* applied) and the server's REDIS_* env,
//  2. instantiates the adapter recipes of the build hook and registers them,
//  3. calls the runtime hook 'nvent:registerAdapter' (instances may be registered there),
//  4. creates the adapters, starts the event bus wiring (stream coordinator),
//  5. registers the worker functions of server/functions/ and calls 'nvent:ready'.
// It closes all of it on Nitro's 'close'. Requests wait until the start has finished.
import { createAdapters, createWiringRegistry, getEventBus, shutdownAdapters, useAdapterRegistry } from '@nvent/engine'
import type { AdapterRegistry, AdaptersConfig, HandlerJob, JobContext, JobHandler, QueueAdapter } from '@nvent/engine'
import { recipes } from '#nvent/adapters'
import { functions } from '#nvent/functions'
import { defineNitroPlugin, useRuntimeConfig } from '#imports'
import { coordinatorOptions, resolveNventConfig } from '../config'
import type { ModuleOptions, ResolvedNventConfig } from '../config'
import type { FunctionConfig } from './utils/functions'
import { state } from './state'

type NitroApp = Parameters<Parameters<typeof defineNitroPlugin>[0]>[0]
// Our hook names are typed for apps by the module's type template, not inside this package.
type Hooks = { callHook: (name: string, ...args: unknown[]) => Promise<unknown> }

export default defineNitroPlugin((nitroApp: NitroApp) => {
  // Start after every plugin has run (whether or not Nitro awaits plugins), so that runtime
  // hooks registered by plugins loaded after this one still see 'nvent:registerAdapter'.
  const ready = new Promise(resolve => setImmediate(resolve)).then(() => start(nitroApp.hooks as unknown as Hooks))
  state.closed = false
  state.startError = undefined
  ready.catch((error) => {
    state.startError = error
    console.error('[nvent] failed to start:', error)
  })
  nitroApp.hooks.hook('request', async () => {
    await ready
  })
  nitroApp.hooks.hook('close', async () => {
    await ready.catch(() => {})
    await stop()
  })
})

async function start(hooks: Hooks): Promise<void> {
  const config = resolveNventConfig(useRuntimeConfig().nvent as ModuleOptions, process.env)
  const registry = useAdapterRegistry()
  for (const recipe of recipes) register(registry, recipe.kind, recipe.name, await instantiate(recipe, config))
  await hooks.callHook('nvent:registerAdapter', registry, config)

  // The engine types a section's `redis` as a plain record; ours is its RedisConnection.
  const adapters = await createAdapters({ queue: config.queue, stream: config.stream, store: config.store } as unknown as AdaptersConfig)
  state.adapters = adapters
  const wiring = createWiringRegistry({
    streamCoordinator: { bus: getEventBus(), store: adapters.store, stream: adapters.stream, ...coordinatorOptions(config) },
  })
  state.wiring = wiring
  await wiring.start()
  await registerWorkers(adapters.queue)
  await hooks.callHook('nvent:ready', adapters, config)
}

async function stop(): Promise<void> {
  const { adapters, wiring } = state
  state.closed = true
  state.adapters = undefined
  state.wiring = undefined
  await wiring?.stop()
  if (adapters) await shutdownAdapters(adapters)
}

async function instantiate(recipe: (typeof recipes)[number], config: ResolvedNventConfig): Promise<unknown> {
  const what = `${recipe.kind} adapter "${recipe.name}" (${recipe.factory ? 'factory' : 'export'} "${recipe.export}" of "${recipe.from}")`
  if (typeof recipe.target !== 'function') throw new TypeError(`nvent: ${what} is not a ${recipe.factory ? 'function' : 'class'}`)
  const options = recipe.options ?? {}
  if (recipe.factory) return await (recipe.target as (o: unknown, c: ResolvedNventConfig) => unknown)(options, config)
  return new (recipe.target as new (o: unknown) => unknown)(options)
}

function register(registry: AdapterRegistry, kind: 'queue' | 'stream' | 'store', name: string, adapter: unknown): void {
  if (kind === 'queue') registry.registerQueue(name, adapter as object)
  else if (kind === 'stream') registry.registerStream(name, adapter as object)
  else registry.registerStore(name, adapter as object)
}

async function registerWorkers(queue: QueueAdapter): Promise<void> {
  for (const fn of functions) {
    const handler = fn.module.default as JobHandler
    const fnConfig = fn.module.config as FunctionConfig | undefined
    if (typeof handler !== 'function') {
      throw new TypeError(`nvent: ${fn.file} must default-export its handler (export default defineFunction(async (job, ctx) => ...))`)
    }
    if (typeof fnConfig?.queue?.name !== 'string' || !fnConfig.queue.name) {
      throw new TypeError(`nvent: ${fn.file} must export \`config = defineFunctionConfig({ queue: { name } })\``)
    }
    // `nvent.queue.worker` reaches the engine as the adapter's worker defaults; these win.
    const options: Record<string, unknown> = { ...fnConfig.worker }
    if (fnConfig.queue.defaultJobOptions) options.defaultJobOptions = fnConfig.queue.defaultJobOptions
    // Always hand the engine a Promise: a handler may return a plain value or throw synchronously.
    await queue.registerWorker(fnConfig.queue.name, fn.name, async (job: HandlerJob, ctx: JobContext) => handler(job, ctx), options)
  }
}
