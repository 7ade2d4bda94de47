// Configuration of @nvent/nuxt (SPEC §8, §10): the `nvent` options a user writes, their
// defaults, and the pure functions that turn them into what the engine's `createAdapters`
// takes. It lives under runtime/ because it runs twice: at build time (the config handed to
// the `nvent:registerAdapter` build hook) and at server start (over `useRuntimeConfig().nvent`
// after Nuxt has applied `NUXT_NVENT_*` overrides, and over the server's own `REDIS_*` env).
// Nothing here does I/O or reads globals: callers pass the environment in.
import type { Durability, JobOptions, RedisConnection as EngineRedisConnection, WorkerOptions } from '@nvent/engine'

export type { JobOptions, WorkerOptions }

/** A Redis endpoint (SPEC §1 `connection`). An empty string or `0` in a field means "unset". */
export type RedisConnection = EngineRedisConnection

/** Where a file backend keeps its data. */
export interface FileConnection {
  /**
   * Data directory, relative to the server's working directory or absolute.
   * Under `connections.file` it is the parent of `queue/` and `store/`.
   * @default '.data'
   */
  dataDir?: string
  /**
   * When a write reaches the disk (SPEC §9): `'always'` fsyncs before it resolves, `'batch'`
   * within a bounded window, `'none'` leaves it to the OS.
   * @default 'batch'
   */
  durability?: Durability
}

/** Adapter name: a built-in backend or a name registered through `nvent:registerAdapter`. */
export type AdapterName = 'memory' | 'file' | 'redis' | (string & {})

export interface QueueOptions {
  /** @default 'file' */
  adapter?: AdapterName
  /** Falls back to `connections.redis`, then `REDIS_*`, then `127.0.0.1:6379`. */
  redis?: RedisConnection
  /** Falls back to `connections.file.dataDir + '/queue'`, then `.data/queue`. */
  file?: FileConnection
  /** Prefix of the engine's own Redis keys. */
  prefix?: string
  /** Options applied to every job of this backend unless a job sets its own. */
  defaultJobOptions?: JobOptions
  /** Defaults for every worker (a function's `config.worker` wins). */
  worker?: WorkerOptions
}

export interface StreamOptions {
  /** @default 'memory' (a `file` stream is the memory stream: file deployments are single-instance) */
  adapter?: AdapterName
  /** Falls back to `connections.redis`, then `REDIS_*`, then `127.0.0.1:6379`. */
  redis?: RedisConnection
  prefix?: string
}

export interface StoreOptions {
  /** @default 'file' */
  adapter?: AdapterName
  /** Falls back to `connections.redis`, then `REDIS_*`, then `127.0.0.1:6379`. */
  redis?: RedisConnection
  /** Falls back to `connections.file.dataDir + '/store'`, then `.data/store`. */
  file?: FileConnection
  prefix?: string
  /** Redis event streams: trim each subject to about `maxLen` entries. */
  streams?: { trim?: { maxLen: number, approx?: boolean } }
}

/** Channels of the stream coordinator (SPEC §7). */
export interface StreamCoordinatorOptions {
  /** Forward persisted events to `store-sync:append:{subject}`. @default true */
  enableStoreSync?: boolean
  /** Forward lifecycle events to `flow:event:{runId}`. @default true */
  enableFlowEvents?: boolean
  /** Forward flow, trigger and stats events to the client topics. @default true */
  enableClientMessages?: boolean
  /** Prefix of the coordinator's subjects and reference topics. @default 'nq' */
  prefix?: string
}

export interface ModuleOptions {
  /**
   * Folder of worker functions, relative to each layer's `server/` folder (or absolute).
   * Every file there default-exports a handler and exports `config`.
   * @default 'functions'
   */
  dir?: string
  /** Job queue backend. */
  queue?: QueueOptions
  /** Cross-instance pub/sub backend. */
  stream?: StreamOptions
  /** Store backend (event streams, key-value, sorted indexes, documents). */
  store?: StoreOptions
  /** Shared connections that `queue`, `stream` and `store` fall back to. */
  connections?: {
    redis?: RedisConnection
    file?: FileConnection
  }
  /** Event bus wiring. */
  wiring?: {
    streamCoordinator?: StreamCoordinatorOptions
  }
  /**
   * How values are stored (SPEC §2), for all three adapters: `'json'` as `JSON.stringify`
   * writes them (`undefined` fields left out, NaN → `null`, what nvent's own adapters do),
   * `'strict'` refuses what JSON cannot carry exactly (catches bugs in development).
   * @default 'json'
   */
  values?: 'json' | 'strict'
  /**
   * The server-sent events route that forwards stream topics to browsers. Off unless given:
   * `{ topics: ['playground:*'] }` serves the listed topic patterns (`*` matches any run of
   * characters) at `route`; a request for any other topic gets 403. The Nitro runtime hook
   * `nvent:sse:authorize(event, topic)` runs before each subscription and may refuse it by
   * throwing (e.g. `createError({ statusCode: 401 })`).
   * @default off
   */
  sse?: false | SseOptions
}

export interface SseOptions {
  /** @default '/api/_nvent/stream' */
  route?: string
  /** Topic patterns a browser may subscribe to (`*` = any run of characters). */
  topics: string[]
}

export type Kind = 'queue' | 'stream' | 'store'
type ValuesMode = 'json' | 'strict'

/** What the Nitro plugin hands to `createAdapters` and the wiring. */
export interface ResolvedNventConfig {
  queue: QueueOptions & { adapter: AdapterName, redis: RedisConnection, file: FileConnection, values: ValuesMode }
  stream: StreamOptions & { adapter: AdapterName, redis: RedisConnection, values: ValuesMode }
  store: StoreOptions & { adapter: AdapterName, redis: RedisConnection, file: FileConnection, values: ValuesMode }
  wiring: { streamCoordinator: Required<StreamCoordinatorOptions> }
}

/** The environment the resolver reads (`process.env` in practice). */
export type Env = Record<string, string | undefined>

export const DEFAULT_SSE_ROUTE = '/api/_nvent/stream'
const DEFAULT_REDIS: RedisConnection = { host: '127.0.0.1', port: 6379 }
const DEFAULT_DATA_DIR = '.data'

/** The module defaults (`defineNuxtModule({ defaults })`); connection fallbacks come later. */
export function moduleDefaults(): ModuleOptions {
  return {
    dir: 'functions',
    queue: { adapter: 'file' },
    stream: { adapter: 'memory' },
    store: { adapter: 'file' },
    wiring: {
      streamCoordinator: {
        enableStoreSync: true,
        enableFlowEvents: true,
        enableClientMessages: true,
        prefix: 'nq',
      },
    },
    // Present so that `NUXT_NVENT_VALUES` can override it.
    values: 'json',
  }
}

// Every field that `NUXT_NVENT_*` may set must exist in runtimeConfig (Nuxt only overrides
// keys it finds), so connection fields are present as empty placeholders. The fallback chain
// is resolved at server start, never baked into the build: a `REDIS_PASSWORD` of the build
// machine must not end up in `.output`, and the server's own `REDIS_URL` must count.
const REDIS_PLACEHOLDER = { url: '', host: '', port: 0, username: '', password: '', db: 0 }
const FILE_PLACEHOLDER = { dataDir: '' }

/** `runtimeConfig.nvent`: the options as given, defaults filled, connection fields as placeholders. */
export function toRuntimeOptions(options: ModuleOptions): ModuleOptions {
  const merged = mergeDefaults(stripUnset(options) as ModuleOptions, moduleDefaults())
  const withRedis = (o: object | undefined) => mergeDefaults(o ?? {}, REDIS_PLACEHOLDER)
  const withFile = (o: object | undefined) => mergeDefaults(o ?? {}, FILE_PLACEHOLDER)
  const { sse: _sse, dir: _dir, ...rest } = merged
  return {
    ...rest,
    queue: { ...merged.queue, redis: withRedis(merged.queue?.redis), file: withFile(merged.queue?.file) },
    stream: { ...merged.stream, redis: withRedis(merged.stream?.redis) },
    store: { ...merged.store, redis: withRedis(merged.store?.redis), file: withFile(merged.store?.file) },
    connections: {
      redis: withRedis(merged.connections?.redis),
      file: withFile(merged.connections?.file),
    },
  }
}

/**
 * Resolve `nvent` options into the engine's adapter config.
 *
 * - Adapters default to queue `file`, stream `memory`, store `file`.
 * - `X.redis` ← `connections.redis` ← env `REDIS_URL` | `REDIS_HOST`, `REDIS_PORT`,
 *   `REDIS_USERNAME`, `REDIS_PASSWORD`, `REDIS_DB` ← `127.0.0.1:6379`, field by field; the
 *   endpoint (`url`, or `host` + `port`) comes from the most specific level that names one.
 * - `X.file.dataDir` ← `connections.file.dataDir + '/queue'|'/store'` ← `.data/queue|store`.
 * - Empty strings and `0` placeholders count as unset.
 */
export function resolveNventConfig(options: ModuleOptions = {}, env: Env = {}): ResolvedNventConfig {
  const given = stripUnset(options) as ModuleOptions
  const o = mergeDefaults(given, moduleDefaults())
  const envRedis = redisFromEnv(env)
  const redisFor = (kind: Kind) => resolveRedis([o[kind]?.redis, o.connections?.redis, envRedis, DEFAULT_REDIS])
  const fileFor = (kind: 'queue' | 'store') => {
    const own = o[kind]?.file ?? {}
    const shared = o.connections?.file ?? {}
    const dataDir = own.dataDir ?? joinDir(shared.dataDir ?? DEFAULT_DATA_DIR, kind)
    return mergeDefaults({ ...own, dataDir }, shared.durability ? { durability: shared.durability } : {})
  }
  const coordinator = o.wiring?.streamCoordinator ?? {}
  // `nvent.values` is every adapter's values mode (the engine's adapter option `values`).
  const values: ValuesMode = o.values ?? 'json'
  return {
    queue: { ...o.queue, adapter: o.queue?.adapter ?? 'file', redis: redisFor('queue'), file: fileFor('queue'), values },
    stream: { ...o.stream, adapter: o.stream?.adapter ?? 'memory', redis: redisFor('stream'), values },
    store: { ...o.store, adapter: o.store?.adapter ?? 'file', redis: redisFor('store'), file: fileFor('store'), values },
    wiring: {
      streamCoordinator: {
        enableStoreSync: coordinator.enableStoreSync ?? true,
        enableFlowEvents: coordinator.enableFlowEvents ?? true,
        enableClientMessages: coordinator.enableClientMessages ?? true,
        prefix: coordinator.prefix ?? 'nq',
      },
    },
  }
}

/** The engine's `createStreamCoordinator` options (minus the bus and adapters) for a config. */
export function coordinatorOptions(config: ResolvedNventConfig) {
  const c = config.wiring.streamCoordinator
  return {
    prefix: c.prefix,
    channels: {
      storeSync: c.enableStoreSync,
      flowEvents: c.enableFlowEvents,
      clientMessages: c.enableClientMessages,
    },
  }
}

/** The SSE route and its topic allow-list, or `null` when it is off (the default). */
export function sseOptions(options: ModuleOptions): { route: string, topics: string[] } | null {
  const sse = options.sse
  if (!sse) return null
  if (!Array.isArray(sse.topics) || sse.topics.length === 0 || sse.topics.some(t => typeof t !== 'string' || t === '')) {
    throw new TypeError('nvent: `sse.topics` must list the topic patterns browsers may subscribe to (non-empty strings, `*` as wildcard)')
  }
  return { route: sse.route || DEFAULT_SSE_ROUTE, topics: [...sse.topics] }
}

/**
 * Whether a requested topic is within an allowed pattern. The request is read literally, so
 * a request that is itself a pattern (`flow:event:*`) passes only when an allowed pattern
 * covers it: each of its `*` then falls inside a `*` of the allowed pattern, so every topic
 * it subscribes to is allowed too. Only `*` is a wildcard (the stream adapters know no other).
 */
export function topicAllowed(topic: string, patterns: string[]): boolean {
  return patterns.some(pattern => globMatch(pattern, topic))
}

// `*` matches any run of characters (also none); everything else matches itself.
// Iterative with backtracking to the last `*`: linear in practice, no regex built from input.
function globMatch(pattern: string, text: string): boolean {
  let p = 0
  let t = 0
  let star = -1
  let mark = 0
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === text[t]) {
      p++
      t++
    }
    else if (p < pattern.length && pattern[p] === '*') {
      star = p++
      mark = t
    }
    else if (star !== -1) {
      p = star + 1
      t = ++mark
    }
    else {
      return false
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++
  return p === pattern.length
}

/** Adapter names the engine implements (SPEC §8 built-ins); only these replace nvent's. */
export const ENGINE_BACKENDS: readonly string[] = ['memory', 'file', 'redis']

/**
 * The engine's config from nvent's (`useRuntimeConfig().nvent` of nvent 0.5 — already
 * normalized by nvent, `NUXT_NVENT_*` applied — or the config seed 002's build hook hands
 * over). Same fallbacks as standalone: `X.redis` ← `connections.redis` ← `REDIS_*`,
 * `X.file.dataDir` ← `connections.file.dataDir + '/queue'|'/store'` ← `.data/...`.
 * nvent-only keys (`flow`, `webhooks`, `schema`, `state`, ...) are dropped.
 */
export function fromNventConfig(nvent: Record<string, unknown> | undefined, env: Env = {}): ResolvedNventConfig {
  const n = (nvent ?? {}) as ModuleOptions & { connections?: Record<string, unknown> }
  const pick = <T extends object>(section: T | undefined, keys: string[]): T | undefined => {
    if (!isPlainObject(section)) return undefined
    return Object.fromEntries(Object.entries(section).filter(([k]) => keys.includes(k))) as T
  }
  return resolveNventConfig({
    queue: pick(n.queue, ['adapter', 'redis', 'file', 'prefix', 'defaultJobOptions', 'worker']),
    stream: pick(n.stream, ['adapter', 'redis', 'prefix']),
    store: pick(n.store, ['adapter', 'redis', 'file', 'prefix', 'streams']),
    connections: pick(n.connections, ['redis', 'file']),
    values: n.values === 'strict' ? 'strict' : undefined,
  }, env)
}

/** Which of the kinds nvent's config selects the engine provides, with the selected name. */
export function engineSelections(config: ResolvedNventConfig): Array<{ kind: Kind, name: string }> {
  return (['queue', 'stream', 'store'] as const)
    .map(kind => ({ kind, name: config[kind].adapter }))
    .filter(({ name }) => ENGINE_BACKENDS.includes(name))
}

function redisFromEnv(env: Env): RedisConnection {
  const out: RedisConnection = {}
  if (env.REDIS_URL) out.url = env.REDIS_URL
  if (env.REDIS_HOST) out.host = env.REDIS_HOST
  if (env.REDIS_PORT) out.port = toInt(env.REDIS_PORT, 'REDIS_PORT')
  if (env.REDIS_USERNAME) out.username = env.REDIS_USERNAME
  if (env.REDIS_PASSWORD) out.password = env.REDIS_PASSWORD
  if (env.REDIS_DB) out.db = toInt(env.REDIS_DB, 'REDIS_DB')
  return out
}

// Levels from most to least specific. Fields merge one by one, except the endpoint: a URL
// and a host/port pair never mix, the more specific level decides which one is used.
function resolveRedis(levels: Array<RedisConnection | undefined>): RedisConnection {
  const present = levels.map(l => (l ? (stripUnset(l) as RedisConnection) : {}))
  const urlAt = present.findIndex(l => l.url)
  const hostAt = present.findIndex(l => l.host || l.port)
  const merged = present.reduceRight<RedisConnection>((acc, l) => ({ ...acc, ...l }), {})
  if (urlAt !== -1 && urlAt <= hostAt) {
    delete merged.host
    delete merged.port
  }
  else {
    delete merged.url
  }
  return merged
}

function toInt(value: string, name: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) throw new TypeError(`${name} must be a non-negative integer, got "${value}"`)
  return n
}

function joinDir(dir: string, sub: string): string {
  return `${dir.replace(/[\\/]+$/, '')}/${sub}`
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

// Drops placeholders ('' and the 0 of port/db) and undefined, recursively, so that a
// runtimeConfig with placeholders resolves exactly like the options it came from.
function stripUnset(value: unknown, key = ''): unknown {
  if (!isPlainObject(value)) return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined || v === null || v === '') continue
    if (v === 0 && (k === 'port' || k === 'db') && key === 'redis') continue
    out[k] = isPlainObject(v) ? stripUnset(v, k) : v
  }
  return out
}

// defu-like: values of `given` win, nested plain objects merge, arrays are replaced.
function mergeDefaults<T extends object>(given: T, defaults: object): T {
  const out: Record<string, unknown> = { ...defaults as Record<string, unknown> }
  for (const [k, v] of Object.entries(given)) {
    if (v === undefined) continue
    const d = out[k]
    out[k] = isPlainObject(v) && isPlainObject(d) ? mergeDefaults(v, d) : v
  }
  return out as T
}
