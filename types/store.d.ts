// StoreAdapter (SPEC §3).
import type { JsonValue } from './errors'

/** A stored event record: `{ id, ts, ...event }`. */
export interface EventRecord {
  id: string
  ts: number
  type: string
  runId?: string
  flowName?: string
  stepName?: string
  stepId?: string
  attempt?: number
  data?: JsonValue
  [field: string]: JsonValue | undefined
}

/** An event to append: `type` is required; `id`/`ts` are ignored; `undefined` fields are absent. */
export interface EventInput {
  type: string
  runId?: string
  flowName?: string
  stepName?: string
  stepId?: string
  attempt?: number
  data?: unknown
  [field: string]: unknown
}

export interface ReadOptions {
  /** Only these types (filtered before `limit`). */
  types?: string[] | string
  /** Exclusive event id. */
  after?: string
  /** Exclusive event id. */
  before?: string
  /** Inclusive ms bound. */
  from?: number
  /** Inclusive ms bound. */
  to?: number
  limit?: number
  order?: 'asc' | 'desc'
  /** Seed alias of `after`. */
  fromId?: string
  /** Seed alias of `order`. */
  direction?: 'forward' | 'backward'
}

export interface StoreSubscription {
  id: string
  subject: string
  unsubscribe(): Promise<void>
}

export interface EventStreamTier {
  append(subject: string, event: EventInput): Promise<EventRecord>
  read(subject: string, opts?: ReadOptions): Promise<EventRecord[]>
  subscribe(subject: string, onEvent: (record: EventRecord) => unknown): Promise<StoreSubscription>
  delete(subject: string): Promise<boolean>
  count(subject: string): Promise<number>
}

export interface KvEntryInput {
  key: string
  value: unknown
  /** Seconds. */
  ttl?: number
}

export interface KvTier {
  get<T = JsonValue>(key: string): Promise<T | null>
  /** `ttl` in seconds (fractions allowed; absent or 0 = no expiry). */
  set(key: string, value: unknown, ttl?: number): Promise<void>
  delete(key: string): Promise<void>
  /** Glob: `*` any run, `?` one character, `\` escapes. Returns the number deleted. */
  clear(pattern: string): Promise<number>
  increment(key: string, by?: number): Promise<number>
  decrement(key: string, by?: number): Promise<number>
  exists(key: string): Promise<boolean>
  expire(key: string, ttl: number): Promise<boolean>
  touch(key: string, ttl: number): Promise<boolean>
  /** Seconds left, or null (missing key or no expiry). */
  ttl(key: string): Promise<number | null>
  mget<T = JsonValue>(keys: string[]): Promise<(T | null)[]>
  mset(entries: KvEntryInput[]): Promise<void>
}

/** `{ field: value | [values] }`; fields may be dotted paths. */
export type Filter = Record<string, JsonValue | JsonValue[]>

export interface IndexEntry<M = Record<string, JsonValue>> {
  id: string
  score: number
  metadata: M & { version: number }
}

export interface IndexTier {
  /** Upsert; replaces the metadata; `version` is reset to 0. */
  add(key: string, id: string, score: number, metadata?: Record<string, unknown>): Promise<void>
  get(key: string, id: string): Promise<IndexEntry | null>
  /** Score descending (equal scores: id descending). Default limit 50. */
  read(key: string, opts?: { offset?: number; limit?: number; filter?: Filter }): Promise<IndexEntry[]>
  count(key: string, opts?: { filter?: Filter }): Promise<number>
  /** Deep merge; `null` deletes; arrays replace. False when missing or on a version mismatch. */
  update(key: string, id: string, partial: Record<string, unknown>, opts?: { expectedVersion?: number }): Promise<boolean>
  updateWithRetry(key: string, id: string, partial: Record<string, unknown>, maxRetries?: number): Promise<void>
  increment(key: string, id: string, field: string, by?: number): Promise<number>
  delete(key: string, id: string): Promise<boolean>
}

export interface ClaimTier {
  /** `ttl` in seconds. */
  once(key: string, owner: string, ttl: number): Promise<boolean>
  release(key: string, owner: string): Promise<boolean>
  extend(key: string, owner: string, ttl: number): Promise<boolean>
}

export interface ListOptions {
  filter?: Filter
  limit?: number
  offset?: number
  /** A field path of the document. */
  sortBy?: string
  sortOrder?: 'asc' | 'desc'
  order?: 'asc' | 'desc'
}

export interface StoreAdapter {
  readonly stream: EventStreamTier
  readonly kv: KvTier
  readonly index: IndexTier
  readonly claim: ClaimTier
  append(subject: string, event: EventInput): Promise<EventRecord>
  read(subject: string, opts?: ReadOptions): Promise<EventRecord[]>
  subscribe(subject: string, onEvent: (record: EventRecord) => unknown): Promise<StoreSubscription>
  save(collection: string, id: string, doc: unknown): Promise<void>
  get<T = JsonValue>(collection: string, id: string): Promise<T | null>
  list<T = JsonValue>(collection: string, opts?: ListOptions): Promise<{ id: string; doc: T }[]>
  delete(collection: string, id: string): Promise<boolean>
  /** A view whose every key lives under an encoded `name:id` segment. */
  scope(name: string, id: string): StoreAdapter
  close(): Promise<void>
}

/**
 * How values are stored (SPEC §2). `'json'` (default): as `JSON.stringify` writes them
 * (`undefined`, functions and symbols left out of objects and `null` in arrays, NaN/±Infinity
 * → `null`, `toJSON()` used); refused only what it cannot write (a whole value that is
 * `undefined`/a function/a symbol, BigInt, a throwing getter or toJSON), lone surrogates
 * and circular references. `'strict'`: refuses instead of converting (for development).
 */
export type ValuesMode = 'json' | 'strict'

export interface Limits {
  maxValueBytes?: number
  maxDepth?: number
  maxNameBytes?: number
}

export declare class MemoryStoreAdapter implements StoreAdapter {
  constructor(options?: { limits?: Limits; values?: ValuesMode })
  init(): Promise<void>
  readonly stream: EventStreamTier
  readonly kv: KvTier
  readonly index: IndexTier
  readonly claim: ClaimTier
  append(subject: string, event: EventInput): Promise<EventRecord>
  read(subject: string, opts?: ReadOptions): Promise<EventRecord[]>
  subscribe(subject: string, onEvent: (record: EventRecord) => unknown): Promise<StoreSubscription>
  save(collection: string, id: string, doc: unknown): Promise<void>
  get<T = JsonValue>(collection: string, id: string): Promise<T | null>
  list<T = JsonValue>(collection: string, opts?: ListOptions): Promise<{ id: string; doc: T }[]>
  delete(collection: string, id: string): Promise<boolean>
  scope(name: string, id: string): StoreAdapter
  close(): Promise<void>
}

export type Durability = 'always' | 'batch' | 'none'

/** The store on disk (SPEC §9); may share its `dataDir` with one FileQueueAdapter. */
export declare class FileStoreAdapter extends MemoryStoreAdapter {
  constructor(options: {
    dataDir: string
    durability?: Durability
    recovery?: 'strict' | 'salvage'
    syncWindowMs?: number
    compactAfterBytes?: number
    limits?: Limits
    values?: ValuesMode
  })
}

export interface RedisConnection {
  host?: string
  port?: number
  username?: string
  password?: string
  db?: number
  url?: string
  /** `true`, or PEM texts: a CA to trust, a client certificate and key. */
  tls?: boolean | { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean }
  connectTimeout?: number
  commandTimeout?: number
}

/** The store on a Redis shared by many processes (layout: docs/REDIS.md). No I/O until first use. */
export declare class RedisStoreAdapter extends MemoryStoreAdapter {
  constructor(options: {
    connection: RedisConnection
    prefix?: string
    streams?: { trim?: { maxLen: number; approx?: boolean } }
    limits?: Limits
    values?: ValuesMode
  })
}
