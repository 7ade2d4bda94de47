// QueueAdapter (SPEC §5).
import type { JsonValue } from './errors'
import type { Durability, Limits, RedisConnection, ValuesMode } from './store'

export type JobState = 'waiting' | 'active' | 'completed' | 'failed' | 'delayed' | 'paused'

export interface JobOptions {
  /** Idempotent: while a job with this id exists, enqueue returns it and adds nothing. */
  jobId?: string
  attempts?: number
  /** A fixed delay in ms, or `{ type, delay }`. */
  backoff?: number | { type: 'fixed' | 'exponential'; delay: number }
  /** ms */
  delay?: number
  /** Lower runs first; jobs without priority run after all prioritized ones. */
  priority?: number
  /** ms; an attempt that runs longer fails with "timed out". */
  timeout?: number
  removeOnComplete?: boolean | number
  removeOnFail?: boolean | number
  lifo?: boolean
}

export interface JobInput<D = unknown> {
  name: string
  data?: D
  opts?: JobOptions
}

export interface Job<D = JsonValue, R = JsonValue> {
  id: string
  name: string
  queueName: string
  data: D
  state: JobState
  opts: JobOptions
  timestamp: number
  processedOn?: number
  finishedOn?: number
  attemptsMade: number
  returnvalue?: R
  failedReason?: string
  progress?: JsonValue
  logs?: string[]
}

/** What a handler receives. `attemptsMade` counts the attempts before this one. */
export interface HandlerJob<D = JsonValue> {
  id: string
  name: string
  data: D
  attemptsMade: number
  opts: JobOptions
  queueName: string
}

export interface JobContext {
  jobId: string
  queueName: string
  updateProgress(progress: unknown): Promise<void>
  log(message: string): Promise<void>
}

export type JobHandler<D = JsonValue, R = unknown> = (job: HandlerJob<D>, ctx: JobContext) => R | Promise<R>

export interface WorkerOptions {
  /** 1 to 100,000 (default 1). */
  concurrency?: number
  /** false: start on `startProcessingQueue` or `resume`. */
  autorun?: boolean
  /** ms, positive, at most 10 years (lease backends; default 30000). */
  lockDuration?: number
  /** ms, positive, at most 10 years (default 30000). */
  stalledInterval?: number
  /** 0 to 1e9 (default 1). */
  maxStalledCount?: number
  /**
   * Job options that later jobs of this worker's name on its queue get under their own (over
   * the adapter's `defaultJobOptions`), in this adapter instance. The Nuxt module passes a
   * function's `config.queue.defaultJobOptions` here.
   */
  defaultJobOptions?: JobOptions
}

export interface ScheduleOptions {
  /** ms */
  delay?: number
  /** 5 fields, or 6 with seconds first. */
  cron?: string
  repeat?: { pattern?: string; every?: number; limit?: number }
}

export interface ScheduledJob {
  id: string
  queueName: string
  name: string
  pattern: string | null
  every: number | null
  limit: number | null
  count: number
  next: number
}

export interface JobCounts {
  waiting: number
  active: number
  completed: number
  failed: number
  delayed: number
  paused: number
}

export type QueueEventName =
  | 'waiting'
  | 'active'
  | 'progress'
  | 'completed'
  | 'failed'
  | 'delayed'
  | 'paused'
  | 'resumed'
  | 'stalled'

export interface QueueEventPayload {
  jobId?: string
  name?: string
  queueName?: string
  returnvalue?: JsonValue
  failedReason?: string
  attemptsMade?: number
  progress?: JsonValue
  data?: JsonValue
  delay?: number
}

export interface QueueAdapter {
  init(): Promise<void>
  enqueue(queue: string, job: JobInput): Promise<string>
  enqueueBulk(queue: string, jobs: JobInput[]): Promise<string[]>
  schedule(queue: string, job: JobInput, opts: ScheduleOptions): Promise<string>
  getJob(queue: string, id: string): Promise<Job | null>
  getJobs(queue: string, opts?: { state?: JobState[] | JobState; limit?: number; offset?: number }): Promise<Job[]>
  getJobCounts(queue: string): Promise<JobCounts>
  /** Returns the unsubscribe function. */
  on(queue: string, event: QueueEventName, cb: (payload: QueueEventPayload) => unknown): () => void
  pause(queue: string): Promise<void>
  resume(queue: string): Promise<void>
  isPaused(queue: string): Promise<boolean>
  registerWorker<D = JsonValue>(queue: string, jobName: string, handler: JobHandler<D>, opts?: WorkerOptions): Promise<void>
  startProcessingQueue(queue: string): Promise<void>
  getScheduledJobs(queue: string): Promise<ScheduledJob[]>
  removeScheduledJob(id: string): Promise<boolean>
  removeJob(queue: string, id: string): Promise<boolean>
  close(): Promise<void>
}

export interface QueueAdapterOptions {
  defaultJobOptions?: JobOptions
  worker?: WorkerOptions
  /** ms that close() waits for running handlers (default 10000). */
  closeTimeout?: number
  limits?: Limits
  /** How job data, progress and return values are stored (SPEC §2; default `'json'`). */
  values?: ValuesMode
}

export declare class MemoryQueueAdapter implements QueueAdapter {
  constructor(options?: QueueAdapterOptions)
  init(): Promise<void>
  enqueue(queue: string, job: JobInput): Promise<string>
  enqueueBulk(queue: string, jobs: JobInput[]): Promise<string[]>
  schedule(queue: string, job: JobInput, opts: ScheduleOptions): Promise<string>
  getJob(queue: string, id: string): Promise<Job | null>
  getJobs(queue: string, opts?: { state?: JobState[] | JobState; limit?: number; offset?: number }): Promise<Job[]>
  getJobCounts(queue: string): Promise<JobCounts>
  on(queue: string, event: QueueEventName, cb: (payload: QueueEventPayload) => unknown): () => void
  pause(queue: string): Promise<void>
  resume(queue: string): Promise<void>
  isPaused(queue: string): Promise<boolean>
  registerWorker<D = JsonValue>(queue: string, jobName: string, handler: JobHandler<D>, opts?: WorkerOptions): Promise<void>
  startProcessingQueue(queue: string): Promise<void>
  getScheduledJobs(queue: string): Promise<ScheduledJob[]>
  removeScheduledJob(id: string): Promise<boolean>
  removeJob(queue: string, id: string): Promise<boolean>
  close(): Promise<void>
}

/** Jobs on disk: the queue engine with every change in a checksummed write-ahead log under `dataDir`. */
export declare class FileQueueAdapter extends MemoryQueueAdapter {
  constructor(options: QueueAdapterOptions & { dataDir: string; durability?: Durability })
}

/**
 * Jobs on a Redis shared by many processes (layout: docs/REDIS.md). Workers hold leases they
 * renew; a crashed worker's jobs run again once the lease expires. No I/O until first use.
 */
export declare class RedisQueueAdapter extends MemoryQueueAdapter {
  constructor(options?: QueueAdapterOptions & { connection?: RedisConnection; prefix?: string; eventsMaxLen?: number })
}
