// Server auto-imports that register adapter instances by name on the engine's process-wide
// registry. Call them from a Nitro plugin (or the runtime hook 'nvent:registerAdapter'):
// the nvent plugin creates the configured adapters right after all plugins have loaded.
import { useAdapterRegistry } from '@nvent/engine'
import type { QueueAdapter, StoreAdapter, StreamAdapter } from '@nvent/engine'
import { state } from '../state'

function warnIfLate(kind: string, name: string) {
  if (state.adapters) console.warn(`[nvent] ${kind} adapter "${name}" was registered after the adapters were created; it is used from the next start on`)
}

/** Register a queue adapter instance; select it with `nvent.queue.adapter: name`. */
export function registerQueueAdapter(name: string, adapter: QueueAdapter): void {
  warnIfLate('queue', name)
  useAdapterRegistry().registerQueue(name, adapter)
}

/** Register a stream adapter instance; select it with `nvent.stream.adapter: name`. */
export function registerStreamAdapter(name: string, adapter: StreamAdapter): void {
  warnIfLate('stream', name)
  useAdapterRegistry().registerStream(name, adapter)
}

/** Register a store adapter instance; select it with `nvent.store.adapter: name`. */
export function registerStoreAdapter(name: string, adapter: StoreAdapter): void {
  warnIfLate('store', name)
  useAdapterRegistry().registerStore(name, adapter)
}
