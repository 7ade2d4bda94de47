// Registry, factory, configuration (SPEC §8).
import type { QueueAdapter } from './queue'
import type { StoreAdapter } from './store'
import type { StreamAdapter } from './stream'

export declare class AdapterRegistry {
  registerQueue(name: string, adapter: QueueAdapter | object): void
  registerStream(name: string, adapter: StreamAdapter | object): void
  registerStore(name: string, adapter: StoreAdapter | object): void
  /** A registered adapter, or a new built-in (`memory`, `file`, `redis`) made with `options`. */
  getQueue(name: string, options?: object): QueueAdapter
  getStream(name: string, options?: object): StreamAdapter
  getStore(name: string, options?: object): StoreAdapter
  hasQueue(name: string): boolean
  hasStream(name: string): boolean
  hasStore(name: string): boolean
  listQueueAdapters(): string[]
  listStreamAdapters(): string[]
  listStoreAdapters(): string[]
  initAll(): Promise<void>
  closeAll(): Promise<void>
}

export declare function useAdapterRegistry(): AdapterRegistry

export interface AdapterSection {
  /** `memory`, `file`, `redis` or a registered name. */
  adapter?: string
  /** Registry shape: the same as `adapter`. */
  type?: string
  /** Registry shape: the constructor options. */
  options?: Record<string, unknown>
  file?: { dataDir?: string; durability?: 'always' | 'batch' | 'none' }
  redis?: Record<string, unknown>
  [option: string]: unknown
}

export interface AdaptersConfig {
  queue?: AdapterSection | string
  stream?: AdapterSection | string
  store?: AdapterSection | string
  connections?: { redis?: Record<string, unknown>; file?: { dataDir?: string } }
  /** Values mode of all three adapters unless a section sets its own `values` (SPEC §2). */
  values?: 'json' | 'strict'
}

export interface Adapters {
  queue: QueueAdapter
  stream: StreamAdapter
  store: StoreAdapter
}

/** Defaults: file queue, memory stream, file store under `.data/`. */
export declare function createAdapters(config?: AdaptersConfig, registry?: AdapterRegistry): Promise<Adapters>

/** Closes `adapters` (default: those of the last `createAdapters`). */
export declare function shutdownAdapters(adapters?: Partial<Adapters>): Promise<void>
