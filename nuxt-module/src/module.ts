// @nvent/nuxt (SPEC §10): wires options, the build hook, the Nitro plugin, the SSE route and
// the server auto-imports. Config resolution lives in runtime/config.ts, recipes in
// build/registry.ts, worker discovery in build/functions.ts; the engine does the rest.
import { resolve as resolvePath } from 'node:path'
import { addServerHandler, addServerImports, addServerPlugin, addServerTemplate, addTypeTemplate, createResolver, defineNuxtModule, getLayerDirectories, useNitro } from '@nuxt/kit'
import { createBuildRegistry, renderAdaptersModule } from './build/registry'
import type { NventBuildRegistry } from './build/registry'
import { functionDirs, isInFunctionDirs, renderFunctionsModule, scanFunctions } from './build/functions'
import { moduleDefaults, resolveNventConfig, sseRoute, toRuntimeOptions } from './runtime/config'
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

export default defineNuxtModule<ModuleOptions>({
  meta: { name: '@nvent/nuxt', configKey: 'nvent', compatibility: { nuxt: '>=4.0.0' } },
  defaults: moduleDefaults(),
  setup(options, nuxt) {
    const { resolve } = createResolver(import.meta.url)
    const runtime = (path: string) => resolve('./runtime/server', path)

    // Owned by the module: NUXT_NVENT_* env vars override these fields at runtime.
    ;(nuxt.options.runtimeConfig as Record<string, unknown>).nvent = toRuntimeOptions(options)

    // Called from modules:done so that modules listed after this one have hooked in.
    const registry = createBuildRegistry()
    nuxt.hook('modules:done', () => nuxt.callHook('nvent:registerAdapter', registry, resolveNventConfig(options, process.env)))
    addServerTemplate({ filename: '#nvent/adapters', getContents: () => renderAdaptersModule(registry.list()) })

    const dirs = () => functionDirs(getLayerDirectories(nuxt).map(layer => layer.server), options.dir || 'functions')
    addServerTemplate({ filename: '#nvent/functions', getContents: async () => renderFunctionsModule(await scanFunctions(dirs())) })
    // A new or removed function file changes #nvent/functions: rebuild the dev server.
    nuxt.hook('builder:watch', async (event, path) => {
      if (event !== 'change' && isInFunctionDirs(resolvePath(nuxt.options.srcDir, path), dirs())) await useNitro().hooks.callHook('rollup:reload')
    })

    addServerPlugin(runtime('plugin'))
    const route = sseRoute(options)
    if (route) addServerHandler({ route, method: 'get', handler: runtime('routes/stream.get') })
    addServerImports(Object.entries(SERVER_IMPORTS).flatMap(([file, names]) => names.map(name => ({ name, from: runtime(file) }))))
    addTypeTemplate({ filename: 'types/nvent.d.ts', getContents: () => nitroHookTypes(resolve('./runtime/config')) }, { nitro: true, nuxt: true })
  },
})

// Types of the runtime hooks, for Nitro 2's two module names.
function nitroHookTypes(configPath: string): string {
  const hooks = `  interface NitroRuntimeHooks {
    'nvent:registerAdapter': (registry: import('@nvent/engine').AdapterRegistry, config: import(${JSON.stringify(configPath)}).ResolvedNventConfig) => void | Promise<void>
    'nvent:ready': (adapters: import('@nvent/engine').Adapters, config: import(${JSON.stringify(configPath)}).ResolvedNventConfig) => void | Promise<void>
  }`
  return `declare module 'nitropack' {\n${hooks}\n}\ndeclare module 'nitropack/types' {\n${hooks}\n}\nexport {}\n`
}
