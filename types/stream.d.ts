// StreamAdapter (SPEC §4).
import type { JsonValue } from './errors'
import type { RedisConnection, ValuesMode } from './store'

/** Any JSON object (SPEC §4); usually `{ type, data, metadata?, timestamp? }`. */
export interface StreamEvent<D = JsonValue> {
  /** Optional: the reference project publishes `{ id, metadata }`. A `filter` matches only a string type. */
  type?: string
  data?: D
  metadata?: Record<string, JsonValue>
  /** Filled with now when absent. */
  timestamp?: number
  [field: string]: unknown
}

export interface SubscribeOptions {
  /** Load-balances messages over the members of this group. */
  group?: string
  /** Matches `event.type` when it is a string: a glob string or a RegExp. */
  filter?: string | RegExp
  /** Replays the retained messages of matching topics first. */
  fromBeginning?: boolean
}

export interface SubscriptionHandle {
  id: string
  topic: string
  unsubscribe(): Promise<void>
}

export interface StreamAdapter {
  init(): Promise<void>
  publish(topic: string, event: StreamEvent<unknown>): Promise<void>
  /** `topic` may contain `*` wildcards. */
  subscribe(topic: string, handler: (event: StreamEvent) => unknown, opts?: SubscribeOptions): Promise<SubscriptionHandle>
  unsubscribe(handle: SubscriptionHandle): Promise<void>
  listTopics(): Promise<string[]>
  getSubscriptionCount(topic: string): Promise<number>
  shutdown(): Promise<void>
  close(): Promise<void>
}

export declare class MemoryStreamAdapter implements StreamAdapter {
  /** `retain`: messages kept per topic for `fromBeginning` (default 1000). */
  constructor(options?: { retain?: number; values?: ValuesMode })
  init(): Promise<void>
  publish(topic: string, event: StreamEvent<unknown>): Promise<void>
  subscribe(topic: string, handler: (event: StreamEvent) => unknown, opts?: SubscribeOptions): Promise<SubscriptionHandle>
  unsubscribe(handle: SubscriptionHandle): Promise<void>
  listTopics(): Promise<string[]>
  getSubscriptionCount(topic: string): Promise<number>
  shutdown(): Promise<void>
  close(): Promise<void>
}

/**
 * Pub/sub across processes on one Redis: plain subscriptions via Redis pub/sub, `group` and
 * `fromBeginning` via Redis streams with consumer groups (docs/REDIS.md). No I/O until first use.
 */
export declare class RedisStreamAdapter extends MemoryStreamAdapter {
  constructor(options: {
    connection: RedisConnection
    prefix?: string
    /** Messages retained per topic for `fromBeginning` and groups (default 1000). */
    retain?: number
    /** Group entries left pending this long (ms) by a dead consumer are taken over (default 15000). */
    claimIdleMs?: number
    /** Deliveries after which a group entry goes to the dead-letter stream (default 5). */
    maxDeliveries?: number
    values?: ValuesMode
  })
}
