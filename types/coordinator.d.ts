// Stream coordinator and wiring registry (SPEC §7).
import type { EventBus } from './bus'
import type { StoreAdapter } from './store'
import type { StreamAdapter } from './stream'

export interface CoordinatorChannels {
  storeSync?: boolean
  flowEvents?: boolean
  clientMessages?: boolean
}

export interface StreamCoordinatorOptions {
  bus?: EventBus
  /** Any object with `stream.append` or `append` (default: the adapters of `createAdapters`). */
  store?: Pick<StoreAdapter, 'append'> | StoreAdapter
  /** Any object with `publish` (default: the adapters of `createAdapters`). */
  stream?: Pick<StreamAdapter, 'publish'> | StreamAdapter
  prefix?: string
  channels?: CoordinatorChannels
  enableStoreSync?: boolean
  enableFlowEvents?: boolean
  enableClientMessages?: boolean
  instanceId?: string
}

export interface StreamCoordinator {
  readonly instanceId: string | undefined
  start(): Promise<void>
  stop(): Promise<void>
}

export declare function createStreamCoordinator(options?: StreamCoordinatorOptions): StreamCoordinator

export interface WiringRegistry {
  start(): Promise<void>
  stop(): Promise<void>
}

export declare function createWiringRegistry(
  options?: StreamCoordinatorOptions | { streamCoordinator?: StreamCoordinatorOptions },
): WiringRegistry
