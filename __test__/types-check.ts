// Compile-only check that the public types describe the API as documented (run by `tsc`).
import {
  createAdapters,
  createStreamCoordinator,
  getEventBus,
  MemoryQueueAdapter,
  MemoryStoreAdapter,
  MemoryStreamAdapter,
  NventError,
  useAdapterRegistry,
  type Job,
  type JobCounts,
} from '../index.js'

async function usage(): Promise<void> {
  const e = new NventError('NVENT_NOT_FOUND', 'x')
  const code: string = e.code
  void code

  const store = new MemoryStoreAdapter()
  // Values modes (SPEC §2) on every adapter and in createAdapters.
  const strictStore = new MemoryStoreAdapter({ values: 'strict' })
  void strictStore
  void new MemoryQueueAdapter({ values: 'json' })
  void new MemoryStreamAdapter({ values: 'strict' })
  // @ts-expect-error only 'json' and 'strict'
  void new MemoryStoreAdapter({ values: 'loose' })
  void createAdapters({ values: 'strict', store: { adapter: 'memory', values: 'json' } })
  // A stream message without type (SPEC §4).
  await new MemoryStreamAdapter().publish('t', { id: 'run-1', metadata: { n: 1 } })
  await store.kv.set('k', { a: 1 }, 1.5)
  const v = await store.kv.get<{ a: number }>('k')
  if (v) void v.a
  const rec = await store.stream.append('s', { type: 't', runId: 'r' })
  const id: string = rec.id
  void id
  await store.index.add('idx', 'a', 1, { 'stats.total': 0 })
  const entries = await store.index.read('idx', { limit: 10, filter: { status: ['a', 'b'] } })
  const version: number = entries[0].metadata.version
  void version
  const scoped = store.scope('tenant', '1')
  await scoped.claim.once('c', 'me', 5)

  const queue = new MemoryQueueAdapter({ defaultJobOptions: { attempts: 2 } })
  await queue.registerWorker<{ to: string }>('emails', 'send', async (job, ctx) => {
    await ctx.updateProgress(50)
    return job.data.to
  }, { concurrency: 4 })
  const jobId: string = await queue.enqueue('emails', { name: 'send', data: { to: 'a' }, opts: { backoff: { type: 'exponential', delay: 10 } } })
  const job: Job | null = await queue.getJob('emails', jobId)
  void job
  const counts: JobCounts = await queue.getJobCounts('emails')
  void counts
  const off: () => void = queue.on('emails', 'completed', (p) => void p.jobId)
  off()

  const stream = new MemoryStreamAdapter()
  const handle = await stream.subscribe('flow:event:*', (m) => void m.type, { filter: /^step\./ })
  await handle.unsubscribe()

  const bus = getEventBus()
  const un = bus.onType('*', (ev) => void ev.type)
  un()
  const c = createStreamCoordinator({ bus, store, stream, prefix: 'nvent', channels: { clientMessages: false } })
  await c.start()
  await c.stop()

  const adapters = await createAdapters({ queue: { adapter: 'memory' }, stream: 'memory', store: { type: 'memory', options: {} } })
  void adapters.queue
  useAdapterRegistry().registerStream('mine', stream)
}
void usage
