// @nvent/nuxt (SPEC §10): wires options, the build hook, the Nitro plugin, the SSE route and
// the server auto-imports. Config resolution lives in runtime/config.ts, recipes in
// build/registry.ts, worker discovery in build/functions.ts, shipping the engine into the
// build in build/engine.ts; the engine does the rest.
//
// Two modes, decided once every module is set up (`modules:done`):
// - standalone: this module is the adapters' host (plugin, workers, auto-imports);
// - inside nvent (the app's modules include `nvent`): an adapter provider only. nvent owns
//   the `nvent` config key, the runtime config, the workers, auto-imports and routes; this
//   module registers the engine's adapters with nvent (its runtime hook, or seed 002's build
//   hook when nvent calls it) and closes them when Nitro closes.
import { resolve as resolvePath } from 'node:path'
import { addServerHandler, addServerImports, addServerPlugin, addServerTemplate, addTypeTemplate, createResolver, defineNuxtModule, getLayerDirectories, useNitro } from '@nuxt/kit'
import type { Nuxt } from '@nuxt/schema'
// Types only (erased): the `nitro:*` Nuxt hooks are declared by Nuxt's Nitro integration.
import type {} from '@nuxt/nitro-server'
import { createBuildRegistry, renderAdaptersModule } from './build/registry'
import type { NventBuildRegistry } from './build/registry'
import { engineDir, engineExternal, shipEngine } from './build/engine'
import { functionDirs, isInFunctionDirs, renderFunctionsModule, scanFunctions } from './build/functions'
import { engineSelections, fromNventConfig, moduleDefaults, resolveNventConfig, sseOptions, toRuntimeOptions } from './runtime/config'
import type { ModuleOptions, ResolvedNventConfig } from './runtime/config'

export type { ModuleOptions, ResolvedNventConfig }
export type { AdapterKind, AdapterRecipe, AdapterSource, NventBuildRegistry } from './build/registry'
export type { FunctionConfig, FunctionHandler } from './runtime/server/utils/functions'

export interface ModuleHooks {
  /** Register adapter recipes; called once all modules are set up (`modules:done`). */
  'nvent:registerAdapter': (registry: NventBuildRegistry, config: ResolvedNventConfig) => void | Promise<void>
}

declare module '@nuxt/schema' {
  interface NuxtHooks extends ModuleHooks {}
}

const SERVER_IMPORTS = {
  'utils/adapters': ['useAdapters', 'useQueueAdapter', 'useStreamAdapter', 'useStoreAdapter', 'useEventBus'],
  'utils/register': ['registerQueueAdapter', 'registerStreamAdapter', 'registerStoreAdapter'],
  'utils/functions': ['defineFunction', 'defineFunctionConfig'],
}

const KIND_METHOD = { queue: 'registerQueue', stream: 'registerStream', store: 'registerStore' } as const

/** Whether nvent (the reference project's module, meta name `nvent`) is among the app's modules. */
export function insideNvent(nuxt: Nuxt): boolean {
  return nuxt.options._installedModules.some(m => m.meta?.name === 'nvent')
}

export default defineNuxtModule<ModuleOptions>({
  meta: { name: '@nvent/nuxt', configKey: 'nvent', compatibility: { nuxt: '>=4.0.0' } },
  // Only read in standalone mode: inside nvent, nvent's config under the same key counts.
  defaults: moduleDefaults(),
  setup(options, nuxt) {
    const { resolve } = createResolver(import.meta.url)
    const runtime = (path: string) => resolve('./runtime/server', path)
    const ownRegistry = createBuildRegistry()
    let viaBuildHook = false

    // Seed 002's build hook, called by a host (nvent) with its registry: register a recipe
    // for each kind its config selects that the engine provides. In standalone mode this
    // module calls the hook itself with its own registry, which is not a host's.
    nuxt.hook('nvent:registerAdapter', (registry, config) => {
      if (registry === ownRegistry || !insideNvent(nuxt)) return
      viaBuildHook = true
      const from = runtime('nvent/provider')
      for (const { kind, name } of engineSelections(fromNventConfig(config as unknown as Record<string, unknown>))) {
        registry[KIND_METHOD[kind]](name, { from, factory: 'createEngineAdapter', options: { kind } })
      }
    })

    shipEngineWithBuilds(nuxt, import.meta.url)

    nuxt.hook('modules:done', async () => {
      const sse = sseOptions(options)
      if (sse) {
        addServerTemplate({ filename: '#nvent/sse', getContents: () => `export const topics = ${JSON.stringify(sse.topics)}\n` })
        addServerHandler({ route: sse.route, method: 'get', handler: runtime('routes/stream.get') })
      }
      if (insideNvent(nuxt)) {
        const plugin = runtime('nvent/plugin')
        addServerTemplate({ filename: '#nvent/host', getContents: () => hostModule(viaBuildHook) })
        addServerPlugin(plugin)
        // First among the server plugins: nvent's adapters plugin calls its runtime hook as soon
        // as it runs (Nitro does not await plugins), so the listener must already be there.
        nuxt.hook('nitro:config', (config) => {
          const others = (config.plugins ?? []).filter(p => p !== plugin)
          config.plugins = [plugin, ...others]
        })
        addTypeTemplate({ filename: 'types/nvent-engine.d.ts', getContents: () => nitroHookTypes(null) }, { nitro: true, nuxt: true })
        return
      }
      await setupStandalone(options, nuxt, ownRegistry, runtime, resolve)
    })
  },
})

// Standalone: this module hosts the adapters, the wiring and the workers.
async function setupStandalone(options: ModuleOptions, nuxt: Nuxt, registry: NventBuildRegistry, runtime: (p: string) => string, resolve: (p: string) => string) {
  // Owned by the module: NUXT_NVENT_* env vars override these fields at runtime.
  ;(nuxt.options.runtimeConfig as Record<string, unknown>).nvent = toRuntimeOptions(options)

  // Called from modules:done so that modules listed after this one have hooked in.
  await nuxt.callHook('nvent:registerAdapter', registry, resolveNventConfig(options, process.env))
  addServerTemplate({ filename: '#nvent/adapters', getContents: () => renderAdaptersModule(registry.list()) })

  const dirs = () => functionDirs(getLayerDirectories(nuxt).map(layer => layer.server), options.dir || 'functions')
  addServerTemplate({ filename: '#nvent/functions', getContents: async () => renderFunctionsModule(await scanFunctions(dirs())) })
  // A new or removed function file changes #nvent/functions: rebuild the dev server.
  nuxt.hook('builder:watch', async (event, path) => {
    if (event !== 'change' && isInFunctionDirs(resolvePath(nuxt.options.srcDir, path), dirs())) await useNitro().hooks.callHook('rollup:reload')
  })

  addServerPlugin(runtime('plugin'))
  addServerImports(Object.entries(SERVER_IMPORTS).flatMap(([file, names]) => names.map(name => ({ name, from: runtime(file) }))))
  addTypeTemplate({ filename: 'types/nvent.d.ts', getContents: () => nitroHookTypes(resolve('./runtime/config')) }, { nitro: true, nuxt: true })
}

// Builds import the engine as an external and get a copy of it in .output (build/engine.ts).
function shipEngineWithBuilds(nuxt: Nuxt, from: string) {
  nuxt.hook('nitro:init', async (nitro) => {
    const dir = await engineDir(from)
    nitro.hooks.hook('rollup:before', (_nitro, rollupConfig) => {
      const plugins = rollupConfig.plugins
      rollupConfig.plugins = [engineExternal(nitro.options.dev, dir), ...(Array.isArray(plugins) ? plugins : plugins ? [plugins] : [])]
    })
    nitro.hooks.hook('compiled', async () => {
      if (nitro.options.dev) return
      await shipEngine(dir, resolvePath(nitro.options.output.serverDir, 'node_modules'))
    })
  })
}

// `#nvent/host`: nvent 0.5's registration functions (its auto-imports), unless nvent took the
// adapters as build-hook recipes.
function hostModule(viaBuildHook: boolean): string {
  if (viaBuildHook) return 'export const viaBuildHook = true\nexport const register = {}\n'
  return [
    `import { registerQueueAdapter, registerStreamAdapter, registerStoreAdapter } from '#imports'`,
    'export const viaBuildHook = false',
    'export const register = { queue: registerQueueAdapter, stream: registerStreamAdapter, store: registerStoreAdapter }',
    '',
  ].join('\n')
}

// Types of the runtime hooks, for Nitro 2's two module names (standalone: also the adapter hooks).
function nitroHookTypes(configPath: string | null): string {
  const adapterHooks = configPath
    ? `    'nvent:registerAdapter': (registry: import('@nvent/engine').AdapterRegistry, config: import(${JSON.stringify(configPath)}).ResolvedNventConfig) => void | Promise<void>
    'nvent:ready': (adapters: import('@nvent/engine').Adapters, config: import(${JSON.stringify(configPath)}).ResolvedNventConfig) => void | Promise<void>
`
    : ''
  const hooks = `  interface NitroRuntimeHooks {
${adapterHooks}    'nvent:sse:authorize': (event: import('h3').H3Event, topic: string) => void | Promise<void>
  }`
  return `declare module 'nitropack' {\n${hooks}\n}\ndeclare module 'nitropack/types' {\n${hooks}\n}\nexport {}\n`
}
