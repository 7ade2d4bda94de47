// The Redis queue backend against BullMQ and bee-queue, measured in one run against the
// same redis-server (started here on a free loopback port, never 6379) and reported as
// ratios. Run: `npm run bench:queue-redis`, or `node bench/queue-redis.mjs` after
// `npm --prefix bench install` (BullMQ and bee-queue are dependencies of the bench only).
//
// Options: `--only=nvent,bullmq,bee` (or BENCH_ONLY) picks the systems; BENCH_JOBS sets N
// (default 20000). Every measurement uses a fresh queue name and a fresh client, after a
// FLUSHALL, so no system sees another's keys. A missed target is printed as MISSED, and so
// is a target that could not be checked because a system did not run. The last line of
// stdout is `RESULT {json}` with the raw numbers.
import { createRequire } from 'node:module'
import { execFileSync } from 'node:child_process'
import { loadavg } from 'node:os'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { startRedis, command } from '../__test__/helpers/redis-server.mjs'

const require = createRequire(import.meta.url)
const benchDir = dirname(fileURLToPath(import.meta.url))

const N = Number(process.env.BENCH_JOBS ?? 20000)
const SYSTEMS = ['nvent', 'bullmq', 'bee']
const LABEL = { nvent: 'nvent', bullmq: 'BullMQ', bee: 'bee-queue' }
const only = parseOnly(process.argv.find((a) => a.startsWith('--only='))?.slice(7) ?? process.env.BENCH_ONLY)
// A hung call in an adapter under development must cost one measurement, not the run.
const RUN_TIMEOUT_MS = 60_000
const LATENCY_SAMPLES = 200
const DELAYED_JOBS = 200

function parseOnly(list) {
  if (!list) return SYSTEMS
  const alias = { ours: 'nvent', engine: 'nvent', 'bee-queue': 'bee', beequeue: 'bee' }
  const picked = list.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean).map((s) => alias[s] ?? s)
  const unknown = picked.filter((s) => !SYSTEMS.includes(s))
  if (unknown.length) {
    console.error(`unknown system(s) ${unknown.join(', ')} in --only; choose from ${SYSTEMS.join(', ')}`)
    process.exit(2)
  }
  return SYSTEMS.filter((s) => picked.includes(s))
}

if (!Number.isInteger(N) || N < 1000) {
  console.error(`BENCH_JOBS must be an integer ≥ 1000, got ${process.env.BENCH_JOBS}`)
  process.exit(2)
}
const baselineDeps = { bullmq: 'bullmq', bee: 'bee-queue' }
const missing = only.filter((s) => baselineDeps[s] && !existsSync(join(benchDir, 'node_modules', baselineDeps[s])))
if (missing.length) {
  console.error(
    `bench/node_modules lacks ${missing.map((s) => baselineDeps[s]).join(' and ')}: run \`npm --prefix bench install\` ` +
      `(or pick systems with --only=nvent)`,
  )
  process.exit(1)
}
const versionOf = (pkg) => JSON.parse(readFileSync(join(benchDir, 'node_modules', pkg, 'package.json'), 'utf8')).version

// ---------------------------------------------------------------------------------------
// One adapter shape over the three systems. A session is one set of clients; `open()` is
// called per measurement so that each starts with new connections and nothing cached.

const payload = (i) => ({ i, note: 'bench' })
const JOB = 'noop'

function nventSystem(connection) {
  return {
    async open() {
      const { RedisQueueAdapter } = require('../index.js')
      const q = new RedisQueueAdapter({ connection, prefix: 'bench' })
      if (typeof q.init === 'function') await q.init()
      return {
        // One round trip, so the first timed call does not pay for connecting.
        ready: (queue) => q.getJobCounts(queue),
        add: (queue, i, opts) => q.enqueue(queue, { name: JOB, data: payload(i), opts }),
        addBulk: (queue, from, count) =>
          q.enqueueBulk(queue, Array.from({ length: count }, (_, k) => ({ name: JOB, data: payload(from + k) }))),
        work: (queue, concurrency, handler) =>
          q.registerWorker(queue, JOB, async (job) => handler(job.data), { concurrency }),
        completed: async (queue) => (await q.getJobCounts(queue)).completed,
        close: () => q.close(),
      }
    },
  }
}

function bullmqSystem({ host, port }) {
  const { Queue, Worker } = require('bullmq')
  // BullMQ's documented worker setting (its blocking connection needs it; set for a non-null
  // value it warns and overrides). The same options serve queues and workers.
  const connection = { host, port, maxRetriesPerRequest: null }
  return {
    async open() {
      const queues = new Map()
      const workers = []
      const queueOf = (name) => {
        let q = queues.get(name)
        if (!q) {
          q = new Queue(name, { connection })
          q.on('error', (e) => console.error(`BullMQ queue error: ${e.message}`))
          queues.set(name, q)
        }
        return q
      }
      return {
        ready: (queue) => queueOf(queue).waitUntilReady(),
        add: (queue, i, opts) => queueOf(queue).add(JOB, payload(i), opts),
        addBulk: (queue, from, count) =>
          queueOf(queue).addBulk(Array.from({ length: count }, (_, k) => ({ name: JOB, data: payload(from + k) }))),
        async work(queue, concurrency, handler) {
          const w = new Worker(queue, async (job) => handler(job.data), { connection, concurrency })
          w.on('error', (e) => console.error(`BullMQ worker error: ${e.message}`))
          workers.push(w)
          await w.waitUntilReady()
        },
        completed: async (queue) => (await queueOf(queue).getJobCounts('completed')).completed,
        async close() {
          await Promise.all(workers.map((w) => w.close()))
          await Promise.all([...queues.values()].map((q) => q.close()))
        },
      }
    },
  }
}

function beeSystem({ host, port }) {
  const BeeQueue = require('bee-queue')
  const redis = { host, port }
  return {
    async open() {
      const producers = new Map()
      const workers = []
      // getEvents: false on both sides: nothing here listens to bee-queue's pub/sub events,
      // and a subscribing producer would also keep every job it saved in a Map.
      const producerOf = (name) => {
        let q = producers.get(name)
        if (!q) {
          q = new BeeQueue(name, { redis, isWorker: false, getEvents: false, removeOnSuccess: false })
          q.on('error', (e) => console.error(`bee-queue error: ${e.message}`))
          producers.set(name, q)
        }
        return q
      }
      return {
        ready: (queue) => producerOf(queue).ready(),
        add(queue, i, opts) {
          if (opts) throw new Error('bee-queue runs no delayed jobs in this bench')
          return producerOf(queue).createJob(payload(i)).save()
        },
        async addBulk(queue, from, count) {
          const q = producerOf(queue)
          // saveAll resolves with a Map of the jobs that failed rather than rejecting.
          const errors = await q.saveAll(Array.from({ length: count }, (_, k) => q.createJob(payload(from + k))))
          if (errors.size) throw [...errors.values()][0]
        },
        async work(queue, concurrency, handler) {
          const w = new BeeQueue(queue, { redis, isWorker: true, getEvents: false, removeOnSuccess: false })
          w.on('error', (e) => console.error(`bee-queue worker error: ${e.message}`))
          workers.push(w)
          w.process(concurrency, async (job) => handler(job.data))
          await w.ready()
        },
        completed: async (queue) => (await producerOf(queue).checkHealth()).succeeded,
        async close() {
          await Promise.all(workers.map((w) => w.close()))
          await Promise.all([...producers.values()].map((q) => q.close()))
        },
      }
    },
  }
}

// ---------------------------------------------------------------------------------------
// Helpers.

function withTimeout(promise, ms, what) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

async function until(check, what, ms = 30_000, every = 2) {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${ms} ms`)
    await sleep(every)
  }
}

/** A promise with its resolve function, so a handler can report in. */
function signal() {
  let resolve
  const promise = new Promise((r) => (resolve = r))
  return { promise, resolve }
}

/** Nearest-rank percentile of an unsorted sample. */
function pct(values, p) {
  const s = [...values].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]
}

/** Deterministic delays, so every system gets the same schedule (mulberry32). */
function seeded(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

async function info(port, section) {
  const text = await command(port, ['INFO', section])
  return Object.fromEntries(
    text
      .split('\r\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]),
  )
}

const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** CPU time of a process in µs from /proc (utime + stime, summed over its threads). */
function procCpuMicros(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name may hold spaces, so fields are counted from after its closing paren.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) / clockTicks) * 1e6
}

/** One line: a missing native module's message lists its whole require stack. */
const errorText = (e) => `${e.code ? `${e.code}: ` : ''}${String(e.message).split('\n')[0]}`

const nodeCpuMicros = () => {
  const u = process.cpuUsage()
  return u.user + u.system
}

// ---------------------------------------------------------------------------------------
// Measurements. Each takes a session on a fresh queue and returns its numbers.

let queues = 0
const freshQueue = (what, sys) => `bench-${what}-${sys}-${++queues}`

async function enqueueSingle(s, queue) {
  await s.ready(queue)
  const t0 = performance.now()
  for (let from = 0; from < N; from += 100) {
    const count = Math.min(100, N - from)
    await Promise.all(Array.from({ length: count }, (_, k) => s.add(queue, from + k)))
  }
  return { jobsPerSec: N / ((performance.now() - t0) / 1000) }
}

async function fill(s, queue, total) {
  for (let from = 0; from < total; from += 1000) await s.addBulk(queue, from, Math.min(1000, total - from))
}

async function enqueueBulk(s, queue) {
  await s.ready(queue)
  const t0 = performance.now()
  await fill(s, queue, N)
  return { jobsPerSec: N / ((performance.now() - t0) / 1000) }
}

async function processing(s, queue, redisPid) {
  await s.ready(queue)
  await fill(s, queue, N)
  let done = 0
  const all = signal()
  const handler = async () => {
    if (++done === N) all.resolve()
  }
  const node0 = nodeCpuMicros()
  const redis0 = procCpuMicros(redisPid)
  const t0 = performance.now()
  await s.work(queue, 100, handler)
  await all.promise
  // The last handlers have returned, but their completions may still be on the wire.
  await until(async () => (await s.completed(queue)) >= N, `${N} completed jobs`)
  const secs = (performance.now() - t0) / 1000
  const node = (nodeCpuMicros() - node0) / N
  const redis = (procCpuMicros(redisPid) - redis0) / N
  return { jobsPerSec: N / secs, seconds: secs, cpuUsPerJob: { node, redis, total: node + redis } }
}

async function pickup(s, queue) {
  await s.ready(queue)
  let started = signal()
  await s.work(queue, 1, async () => started.resolve(performance.now()))
  const samples = []
  // The first few jobs pay for lazy setup (script loading, JIT); they are not recorded.
  const warm = 10
  for (let i = 0; i < warm + LATENCY_SAMPLES; i++) {
    // Let the worker go back to its blocking wait, so each sample is an idle pickup.
    await sleep(5)
    started = signal()
    const t0 = performance.now()
    const [t1] = await Promise.all([started.promise, s.add(queue, i)])
    await until(async () => (await s.completed(queue)) >= i + 1, `job ${i} completed`, 10_000, 1)
    if (i >= warm) samples.push(t1 - t0)
  }
  return { p50: pct(samples, 0.5), p99: pct(samples, 0.99), samples: samples.length }
}

async function delayed(s, queue) {
  await s.ready(queue)
  const due = new Map()
  const lateness = []
  const all = signal()
  // Concurrency 10, so that jobs falling due close together do not queue behind each other:
  // this measures when a due job starts, not how fast one worker slot drains.
  await s.work(queue, 10, async (data) => {
    lateness.push(performance.now() - due.get(data.i))
    if (lateness.length === DELAYED_JOBS) all.resolve()
  })
  await sleep(50)
  const rand = seeded(42)
  // Added one at a time: a burst of 200 concurrent adds would count the client's own
  // queueing (BullMQ stamps a job tens of ms after the call) as lateness.
  for (let i = 0; i < DELAYED_JOBS; i++) {
    const delay = Math.round(50 + rand() * 950)
    due.set(i, performance.now() + delay)
    await s.add(queue, i, { delay })
  }
  await all.promise
  // redis-server expires a blocking command's timeout only on its timer tick (hz 10: every
  // 100 ms), so a worker that waits for the next due job with BZPOPMIN's timeout, as BullMQ
  // does, starts it 0–100 ms late (measured: p99 ≈ 95 ms; ≈ 13 ms with --hz 100).
  // Timestamps are whole ms, so up to 1 ms early is rounding, not a bug.
  const early = lateness.filter((l) => l < -1).length
  return { p50: pct(lateness, 0.5), p99: pct(lateness, 0.99), max: Math.max(...lateness), early }
}

async function memory(s, queue, port) {
  await s.ready(queue)
  const before = Number((await info(port, 'memory')).used_memory)
  await fill(s, queue, N)
  const after = Number((await info(port, 'memory')).used_memory)
  return { bytesPerJob: (after - before) / N, usedMemoryDelta: after - before }
}

// ---------------------------------------------------------------------------------------
// The run.

const server = await startRedis()
const { port } = server
const redisPid = Number((await info(port, 'server')).process_id)
const redisVersion = (await info(port, 'server')).redis_version
const makers = { nvent: nventSystem, bullmq: bullmqSystem, bee: beeSystem }
const systems = {}
const unavailable = {}
for (const name of only) systems[name] = makers[name](server.connection)

// Ours may not be built or may not exist yet (NVENT_UNKNOWN_ADAPTER): then the baselines run alone.
if (systems.nvent) {
  try {
    const s = await systems.nvent.open()
    await withTimeout(s.close(), 10_000, 'nvent close')
  } catch (e) {
    unavailable.nvent = errorText(e)
    console.log(`nvent: not available (${unavailable.nvent})`)
    delete systems.nvent
  }
}
for (const name of SYSTEMS) if (!only.includes(name)) unavailable[name] ??= 'not selected (--only)'

const results = Object.fromEntries(Object.keys(systems).map((n) => [n, {}]))

/** Runs one measurement of one system on a clean server with its own clients. */
async function run(name, what, measure) {
  await command(port, ['FLUSHALL'])
  let s
  try {
    s = await systems[name].open()
    return await withTimeout(measure(s, freshQueue(what, name)), RUN_TIMEOUT_MS, `${LABEL[name]} ${what}`)
  } catch (e) {
    const error = errorText(e)
    console.log(`\n  ${LABEL[name]} ${what}: FAILED (${error})`)
    return { error }
  } finally {
    if (s) await withTimeout(s.close(), 10_000, `${LABEL[name]} close`).catch((e) => console.log(`  ${e.message}`))
  }
}

const started = performance.now()
console.log(
  `Queue benchmarks on redis-server ${redisVersion} (port ${port}), N = ${N}, ` +
    `systems: ${Object.keys(systems).map((n) => LABEL[n]).join(', ') || 'none'}; ` +
    // Other work on this 2-core machine moves every number; the load says how much.
    `load average ${loadavg()[0].toFixed(2)}`,
)
// Warm-up: load each library's code paths and Lua scripts once, so the first measurement
// does not pay for it.
for (const name of Object.keys(systems)) {
  await run(name, 'warmup', async (s, queue) => {
    await s.ready(queue)
    await fill(s, queue, 2000)
    for (let i = 2000; i < 3000; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, k) => s.add(queue, i + k)))
    }
    let done = 0
    const all = signal()
    await s.work(queue, 100, async () => {
      if (++done === 3000) all.resolve()
    })
    await all.promise
  })
}

// Throughput runs are repeated, the systems taking turns, and the best round counts: this
// 2-core machine's speed drifts within minutes, and alternating gives each system the same.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const plan = [
  ['enqueueSingle', (s, q) => enqueueSingle(s, q), { rounds: ROUNDS }],
  ['enqueueBulk', (s, q) => enqueueBulk(s, q), { rounds: ROUNDS }],
  ['processing', (s, q) => processing(s, q, redisPid), { rounds: ROUNDS }],
  ['pickup', (s, q) => pickup(s, q)],
  ['delayed', (s, q) => delayed(s, q), { applies: (name) => name !== 'bee' }],
  ['memory', (s, q) => memory(s, q, port)],
]
for (const [what, measure, { rounds = 1, applies = () => true } = {}] of plan) {
  process.stdout.write(`measuring ${what}${rounds > 1 ? ` (best of ${rounds})` : ''} ...`)
  const t = performance.now()
  const names = Object.keys(systems).filter(applies)
  const all = Object.fromEntries(names.map((n) => [n, []]))
  for (let round = 0; round < rounds; round++) {
    for (const name of names) {
      if (results[name][what]?.error) continue
      const r = await run(name, what, measure)
      if (r.error) results[name][what] = r
      else all[name].push(r)
    }
  }
  for (const name of names) {
    if (results[name][what]?.error) continue
    const best = all[name].reduce((a, b) => (b.jobsPerSec > a.jobsPerSec ? b : a))
    results[name][what] = rounds > 1 ? { ...best, rounds: all[name] } : best
  }
  console.log(` ${((performance.now() - t) / 1000).toFixed(1)} s`)
}
await command(port, ['FLUSHALL'])
await server.close()

// ---------------------------------------------------------------------------------------
// Report.

const get = (name, what, field) => {
  const r = results[name]?.[what]
  if (!r || r.error) return undefined
  return field.split('.').reduce((o, k) => o?.[k], r)
}
const fmt = (v, digits = 0) =>
  v === undefined || Number.isNaN(v) ? '—' : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })

/** One row per system; `measured` names the measurements whose failures the row notes. */
function table(title, measured, columns) {
  const rows = SYSTEMS.map((name) => {
    const failed = measured.map((what) => results[name]?.[what]).find((r) => r?.error)
    const note = !results[name] ? `(${unavailable[name]})` : failed ? `(failed: ${failed.error.slice(0, 80)})` : ''
    return [LABEL[name], ...columns.map(([, cell]) => cell(name)), note]
  })
  const head = ['system', ...columns.map(([h]) => h), '']
  const width = head.map((h, c) => Math.max(h.length, ...rows.map((r) => String(r[c]).length)))
  // Names and notes align left, numbers right.
  const cell = (x, c, last) => (c === 0 || c === last ? String(x).padEnd(width[c]) : String(x).padStart(width[c]))
  const line = (r) => r.map((x, c) => cell(x, c, r.length - 1)).join('  ').trimEnd()
  console.log(`\n${title}\n${line(head)}\n${width.map((w) => '-'.repeat(w)).join('  ').trimEnd()}`)
  for (const r of rows) console.log(line(r))
}

table(
  '1. enqueue, no-op jobs (jobs/s; single = 100 concurrent adds at a time, bulk = 1000 per call)',
  ['enqueueSingle', 'enqueueBulk'],
  [
    ['single', (n) => fmt(get(n, 'enqueueSingle', 'jobsPerSec'))],
    ['bulk', (n) => fmt(get(n, 'enqueueBulk', 'jobsPerSec'))],
  ],
)
table(`2. processing ${N} waiting no-op jobs, concurrency 100 (CPU in µs per job)`, ['processing'], [
  ['jobs/s', (n) => fmt(get(n, 'processing', 'jobsPerSec'))],
  ['node µs', (n) => fmt(get(n, 'processing', 'cpuUsPerJob.node'), 1)],
  ['redis µs', (n) => fmt(get(n, 'processing', 'cpuUsPerJob.redis'), 1)],
  ['total µs', (n) => fmt(get(n, 'processing', 'cpuUsPerJob.total'), 1)],
])
table(`3. pickup latency, idle worker at concurrency 1, ${LATENCY_SAMPLES} jobs (ms from add to handler start)`, ['pickup'], [
  ['p50', (n) => fmt(get(n, 'pickup', 'p50'), 3)],
  ['p99', (n) => fmt(get(n, 'pickup', 'p99'), 3)],
])
table(`4. delayed-job lateness, ${DELAYED_JOBS} jobs delayed 50–1000 ms (ms after due; bee-queue not measured)`, ['delayed'], [
  ['p50', (n) => fmt(get(n, 'delayed', 'p50'), 2)],
  ['p99', (n) => fmt(get(n, 'delayed', 'p99'), 2)],
  ['max', (n) => fmt(get(n, 'delayed', 'max'), 2)],
  ['early', (n) => fmt(get(n, 'delayed', 'early'))],
])
table(`5. Redis memory per waiting job (used_memory delta / ${N}, payload { i, note: 'bench' })`, ['memory'], [
  ['bytes/job', (n) => fmt(get(n, 'memory', 'bytesPerJob'))],
  ['MB total', (n) => fmt(get(n, 'memory', 'usedMemoryDelta') / 2 ** 20, 1)],
])

// A target passes only when both sides were measured; anything else is printed as MISSED.
const summary = []
function ratio(label, what, field, base, target, { lowerIsBetter = false } = {}) {
  const ours = get('nvent', what, field)
  const theirs = base ? get(base, what, field) : undefined
  const value = ours === undefined || (base && theirs === undefined) ? undefined : base ? ours / theirs : ours
  let verdict
  if (value === undefined) {
    const why =
      ours === undefined
        ? `nvent ${results.nvent?.[what]?.error ? 'failed' : 'not measured'}`
        : `${LABEL[base]} not measured`
    verdict = target === null ? `info (${why})` : `MISSED (${why})`
  } else if (target === null) verdict = 'info'
  else verdict = (lowerIsBetter ? value <= target : value >= target) ? 'PASS' : 'MISSED'
  const shown = value === undefined ? '—' : base ? `${value.toFixed(2)}x` : `${value.toFixed(2)} ms`
  const want = target === null ? '' : `${lowerIsBetter ? '≤' : '≥'} ${target}${base ? 'x' : ' ms'}`
  summary.push({ label, value: value ?? null, target, lowerIsBetter, verdict })
  return [label, shown, want, verdict]
}
const lines = [
  ratio('enqueue single: nvent / BullMQ', 'enqueueSingle', 'jobsPerSec', 'bullmq', 4),
  ratio('enqueue bulk: nvent / BullMQ', 'enqueueBulk', 'jobsPerSec', 'bullmq', 4),
  ratio('processing: nvent / BullMQ', 'processing', 'jobsPerSec', 'bullmq', 4),
  ratio('processing: nvent / bee-queue', 'processing', 'jobsPerSec', 'bee', 3),
  ratio('pickup p50: nvent / BullMQ', 'pickup', 'p50', 'bullmq', 0.5, { lowerIsBetter: true }),
  ratio('delayed lateness p99: nvent', 'delayed', 'p99', null, 10, { lowerIsBetter: true }),
  ratio('enqueue single: nvent / bee-queue', 'enqueueSingle', 'jobsPerSec', 'bee', null),
  ratio('enqueue bulk: nvent / bee-queue', 'enqueueBulk', 'jobsPerSec', 'bee', null),
  ratio('CPU per processed job: nvent / BullMQ', 'processing', 'cpuUsPerJob.total', 'bullmq', null),
  ratio('CPU per processed job: nvent / bee-queue', 'processing', 'cpuUsPerJob.total', 'bee', null),
  ratio('pickup p99: nvent / BullMQ', 'pickup', 'p99', 'bullmq', null),
  ratio('memory per job: nvent / BullMQ', 'memory', 'bytesPerJob', 'bullmq', null),
  ratio('memory per job: nvent / bee-queue', 'memory', 'bytesPerJob', 'bee', null),
]
const w = [0, 1, 2].map((c) => Math.max(...lines.map((l) => l[c].length)))
console.log('\nSummary (targets from the queue-backend issue; info = no target)')
for (const l of lines) console.log(`  ${l[0].padEnd(w[0])}  ${l[1].padStart(w[1])}  ${l[2].padEnd(w[2])}  ${l[3]}`)
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`)

console.log(
  'RESULT ' +
    JSON.stringify({
      jobs: N,
      redis: redisVersion,
      node: process.version,
      loadAverage: loadavg()[0],
      bullmq: results.bullmq || only.includes('bullmq') ? versionOf('bullmq') : null,
      beeQueue: results.bee || only.includes('bee') ? versionOf('bee-queue') : null,
      unavailable,
      results,
      summary,
    }),
)

// Everything has been closed; if some handle still keeps the loop alive, say so rather
// than hang.
setTimeout(() => {
  console.error('queue-redis bench: the process is still alive 5 s after closing everything (a leaked handle)')
  process.exit(1)
}, 5000).unref()
