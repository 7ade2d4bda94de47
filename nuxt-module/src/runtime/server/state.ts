// What the Nitro plugin started, shared with the auto-imported composables. One per server
// (a `nuxi dev` reload starts a new worker, hence a new copy of this module).
import type { Adapters, WiringRegistry } from '@nvent/engine'

export interface NventState {
  adapters?: Adapters
  wiring?: WiringRegistry
  closed: boolean
  /** Why the start failed (a backend unreachable, bad options): what later calls report. */
  startError?: unknown
}

export const state: NventState = { closed: false }
