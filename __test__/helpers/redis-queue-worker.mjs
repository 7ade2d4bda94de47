// A worker process of the Redis queue tests (SPEC §5, §9): one RedisQueueAdapter with one
// worker, configured by the JSON in argv[2]:
//   { connection, prefix, queue, jobName, worker: { concurrency, lockDuration, ... },
//     mode: 'ledger' | 'gate', ledger?: { port, key }, maxDelayMs?, returns? }
// `ledger` mode: the handler appends `start:<n>:<pid>:<attemptsMade>:<jobId>` to a list on a
// ledger Redis that no fault touches, waits 0..maxDelayMs ms, appends `done:…` (same fields)
// and returns `{ n, pid, attemptsMade }`, which names the run that completed the job. Each
// append is acknowledged before the handler goes on, so a `done` means the run reached its end.
// `gate` mode: the handler tells the parent `started` and waits for the action `release`; then
// it calls `ctx.updateProgress(50)`, tells the parent `returning` with how that went, and
// returns `returns`.
// Every `nvent.error` on the process bus goes to the parent ({ event: 'bus' }) and, in ledger
// mode, to the list `<key>:errors` (so it is kept even when the parent kills this process).
// Messages to the parent: { ready, pid }, { event, ... }, { reply, ok, value }. Actions:
// `release`, `isPaused { queue }`, `close`. The IPC channel and the ledger socket are unref'd:
// only the adapter keeps this process alive, so after `close` it must exit by itself.
import net from 'node:net'
import { RedisQueueAdapter, getEventBus } from '../../index.mjs'

const cfg = JSON.parse(process.argv[2])
const pid = process.pid
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/**
 * One persistent, pipelined RESP connection. Replies come back in command order; the ledger
 * commands used here (RPUSH) answer with an integer or an error, so that is all it parses.
 */
function ledgerClient(port) {
  const sock = net.connect(port, '127.0.0.1')
  sock.setNoDelay(true)
  sock.unref()
  const pending = []
  let buf = ''
  let broken = null
  sock.setEncoding('utf8')
  sock.on('data', (d) => {
    buf += d
    let nl
    while ((nl = buf.indexOf('\r\n')) >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 2)
      const p = pending.shift()
      if (!p) continue
      if (line[0] === '-') p.reject(new Error(`ledger: ${line.slice(1)}`))
      else if (line[0] === ':' || line[0] === '+') p.resolve(line.slice(1))
      else p.reject(new Error(`ledger: unexpected reply ${JSON.stringify(line)}`))
    }
  })
  const fail = (e) => {
    broken = e
    for (const p of pending.splice(0)) p.reject(e)
  }
  sock.on('error', fail)
  sock.on('close', () => fail(new Error('ledger connection closed')))
  return {
    send(...args) {
      if (broken) return Promise.reject(broken)
      return new Promise((resolve, reject) => {
        pending.push({ resolve, reject })
        sock.write(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join(''))
      })
    },
    close: () => sock.end(),
  }
}

const ledger = cfg.ledger ? ledgerClient(cfg.ledger.port) : null
const adapter = new RedisQueueAdapter({ connection: cfg.connection, prefix: cfg.prefix, worker: cfg.worker })

getEventBus().onType('nvent.error', (e) => {
  const data = e && e.data ? e.data : {}
  process.send({ event: 'bus', data: { source: data.source, code: data.code, message: data.message } })
  if (ledger) ledger.send('RPUSH', `${cfg.ledger.key}:errors`, JSON.stringify({ pid, ...data })).catch(() => {})
})

async function recorded(job) {
  const tag = `${job.data.n}:${pid}:${job.attemptsMade}:${job.id}`
  await ledger.send('RPUSH', cfg.ledger.key, `start:${tag}`)
  const ms = Math.floor(Math.random() * ((cfg.maxDelayMs ?? 0) + 1))
  if (ms > 0) await sleep(ms)
  await ledger.send('RPUSH', cfg.ledger.key, `done:${tag}`)
  return { n: job.data.n, pid, attemptsMade: job.attemptsMade }
}

let release
const released = new Promise((r) => (release = r))

async function gated(job, ctx) {
  process.send({ event: 'started', jobId: job.id, attemptsMade: job.attemptsMade })
  await released
  let progress
  try {
    await ctx.updateProgress(50)
    progress = { ok: true }
  } catch (e) {
    progress = { ok: false, code: e && e.code, message: e && e.message }
  }
  process.send({ event: 'returning', jobId: job.id, progress })
  return cfg.returns
}

const actions = {
  release() {
    release()
  },
  isPaused: ({ queue }) => adapter.isPaused(queue),
  async close() {
    await adapter.close()
    if (ledger) ledger.close()
  },
}

process.on('message', async ({ id, action, args }) => {
  try {
    process.send({ reply: id, ok: true, value: (await actions[action](args)) ?? null })
  } catch (e) {
    process.send({ reply: id, ok: false, value: { code: e && e.code, message: e && e.message } })
  }
})
// Without the parent there is nobody to report to: do not linger as an orphan worker.
process.on('disconnect', () => process.exit(0))
process.channel.unref()

await adapter.registerWorker(cfg.queue, cfg.jobName, cfg.mode === 'gate' ? gated : recorded, cfg.worker)
process.send({ ready: true, pid })
