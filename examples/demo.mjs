// A tour of the engine on the embedded defaults (file queue and store, memory stream; no
// Redis): enqueue jobs, process them with a worker, stream flow events through the
// coordinator, keep state in the store, restart the store and read it back, and print what
// happened. Run: `npm run demo`.
import fs from 'node:fs'
import {
  createAdapters,
  createStreamCoordinator,
  FileStoreAdapter,
  getEventBus,
  shutdownAdapters,
} from '../index.mjs'

const log = (...a) => console.log(...a)

// The SPEC §8 defaults, under a demo dir that starts empty each run.
const dataDir = '.data/demo'
fs.rmSync(dataDir, { recursive: true, force: true })
const { queue, stream, store } = await createAdapters({ connections: { file: { dataDir } } })
log(`adapters: queue=${queue.constructor.name} stream=${stream.constructor.name} store=${store.constructor.name} (data in ${dataDir}/)`)
const bus = getEventBus()

// Wiring: flow events published on the bus are persisted in the store and fanned out to
// stream channels (SPEC §7).
const coordinator = createStreamCoordinator({ bus, store, stream, prefix: 'demo' })
await coordinator.start()

const seen = []
await stream.subscribe('flow:event:*', (msg) => seen.push(msg.type))

// A worker: "sends" an email, failing once for one recipient to show a retry.
let flaky = true
await queue.registerWorker(
  'emails',
  'send',
  async (job, ctx) => {
    await ctx.updateProgress(50)
    if (job.data.to === 'bob@example.com' && flaky) {
      flaky = false
      throw new Error('SMTP timeout (simulated)')
    }
    bus.publish({ type: 'step.completed', runId: job.data.runId, flowName: 'welcome', stepName: 'send', data: { to: job.data.to } })
    await store.kv.increment('demo:emails:sent')
    await store.index.increment('demo:campaigns', 'welcome', 'stats.sent')
    return { deliveredTo: job.data.to }
  },
  { concurrency: 4 },
)

await store.index.add('demo:campaigns', 'welcome', Date.now(), { title: 'Welcome mail', stats: { sent: 0 } })

const recipients = ['ann@example.com', 'bob@example.com', 'cai@example.com', 'dee@example.com', 'eve@example.com']
const done = new Promise((resolve) => {
  let n = 0
  queue.on('emails', 'completed', () => ++n === recipients.length && resolve())
})
bus.publish({ type: 'flow.start', runId: 'run-1', flowName: 'welcome', data: { recipients: recipients.length } })
const ids = await queue.enqueueBulk(
  'emails',
  recipients.map((to) => ({ name: 'send', data: { to, runId: 'run-1' }, opts: { attempts: 3, backoff: 10 } })),
)
log(`enqueued ${ids.length} jobs: ${ids.join(', ')}`)
await done
bus.publish({ type: 'flow.completed', runId: 'run-1', flowName: 'welcome' })

// Give the coordinator a moment to persist and fan out the last event.
for (let i = 0; i < 100 && !seen.includes('flow.completed'); i++) await new Promise((r) => setTimeout(r, 10))

const bob = await queue.getJob('emails', ids[1])
log('job counts:', await queue.getJobCounts('emails'))
log(`bob's job: state=${bob.state} attemptsMade=${bob.attemptsMade} returnvalue=${JSON.stringify(bob.returnvalue)}`)
log('emails sent (kv counter):', await store.kv.get('demo:emails:sent'))
log('campaign index entry:', JSON.stringify(await store.index.get('demo:campaigns', 'welcome')))
const events = await store.stream.read('demo:flow:run:run-1')
log(`persisted flow events for run-1 (${events.length}):`, events.map((e) => e.type).join(', '))
log('stream messages on flow:event:* :', seen.join(', '))

await coordinator.stop()
await shutdownAdapters()

// The file store keeps everything across a restart.
const reopened = new FileStoreAdapter({ dataDir: `${dataDir}/store` })
const again = await reopened.stream.read('demo:flow:run:run-1')
log(`after a restart: ${again.length} flow events, emails sent = ${await reopened.kv.get('demo:emails:sent')}`)
log('recovery report:', JSON.stringify(await reopened.recoveryReport()))
await reopened.close()
log('closed cleanly')
