// What the Nitro plugin started, shared with the auto-imported composables. One per server
// (a `nuxi dev` reload starts a new worker, hence a new copy of this module).
import type { Adapters, WiringRegistry } from '@nvent/engine'

export interface NventState {
  adapters?: Adapters
  wiring?: WiringRegistry
  closed: boolean
}

export const state: NventState = { closed: false }
