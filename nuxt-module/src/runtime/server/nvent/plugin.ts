// Nitro plugin of @nvent/nuxt inside nvent (SPEC §10). The module puts it first among the
// server plugins, so that its listener on nvent 0.5's 'nvent:register-adapters' is in place
// when nvent's adapters plugin calls that hook and then creates its adapters from its registry.
// When nvent called seed 002's build hook instead, the recipes registered there bring the
// same adapters and this plugin only closes them.
import { register, viaBuildHook } from '#nvent/host'
import { defineNitroPlugin } from '#imports'
import { closeEngineAdapters, engineAdapters } from './provider'

// nvent's hook is typed by nvent (if at all), not by this package.
type Hooks = { hook: (name: string, fn: () => Promise<void>) => unknown }

export default defineNitroPlugin((nitroApp) => {
  if (!viaBuildHook) {
    ;(nitroApp.hooks as unknown as Hooks).hook('nvent:register-adapters', async () => {
      const { selected } = await engineAdapters()
      for (const { kind, name, adapter } of selected) register[kind](name, adapter)
    })
  }
  // After every plugin's own 'close' handlers (nvent's workers plugin closes its queue
  // there, and its handlers still write to the store): hooks run in the order they were added.
  setImmediate(() => nitroApp.hooks.hook('close', closeEngineAdapters))
})
