// Benchmarks of the memory backends against plain-JS baselines, measured in one run and
// reported as ratios (engine throughput / baseline throughput). Run: `npm run bench`.
// Targets come from issue "Engine foundation"; a miss is printed, not hidden.
import { createRequire } from 'node:module'
import { ArrayIndex, ArrayStream, MapKv, MiniQueue, emitterWith } from './baselines.mjs'

const require = createRequire(import.meta.url)
const engine = require('../index.js')

// Values mode of the adapters measured (SPEC §2): `NVENT_BENCH_VALUES=strict npm run bench`
// measures the strict walk; the default is the adapters' default, 'json'.
const adapterOptions = process.env.NVENT_BENCH_VALUES ? { values: process.env.NVENT_BENCH_VALUES } : undefined

const payload200 = {
  runId: 'run-1234567890',
  flowName: 'checkout',
  step: 'charge-card',
  attempt: 1,
  data: { amount: 1999, currency: 'EUR', items: [1, 2, 3], note: 'benchmark payload of about 200 B' },
}

/** Runs `fn` (which performs `ops` operations) and returns operations per second. */
async function rate(ops, fn) {
  const t0 = process.hrtime.bigint()
  await fn()
  const ns = Number(process.hrtime.bigint() - t0)
  return ops / (ns / 1e9)
}

/**
 * Best of `rounds` measurements of each of `a` and `b`, taken alternately after a warm-up,
 * so that both see the same machine (this 2-core box's speed drifts by 2x within minutes).
 */
async function bestOfPair(rounds, ops, a, b) {
  await rate(ops, a)
  await rate(ops, b)
  let ta = 0
  let tb = 0
  for (let i = 0; i < rounds; i++) {
    ta = Math.max(ta, await rate(ops, a))
    tb = Math.max(tb, await rate(ops, b))
  }
  return [ta, tb]
}

/** Best of `rounds` measurements after a warm-up, to damp noise on a shared machine. */
async function best(rounds, ops, fn) {
  await rate(ops, fn)
  let top = 0
  for (let i = 0; i < rounds; i++) top = Math.max(top, await rate(ops, fn))
  return top
}

const results = []
function report(name, engineRate, baseRate, target, note) {
  results.push({ name, engineRate, baseRate, ratio: engineRate / baseRate, target, note })
}

async function kv() {
  const N = 50_000
  const store = new engine.MemoryStoreAdapter(adapterOptions)
  const map = new MapKv()
  const [e, b] = await bestOfPair(
    5,
    N,
    async () => {
      for (let i = 0; i < N; i++) {
        await store.kv.set('k' + (i % 1000), payload200)
        await store.kv.get('k' + (i % 1000))
      }
    },
    async () => {
      for (let i = 0; i < N; i++) {
        await map.set('k' + (i % 1000), payload200)
        await map.get('k' + (i % 1000))
      }
    },
  )
  report('kv set+get 200 B (memory)', e, b, 0.5, 'vs Map copying values (JSON)')
  await store.close()
}

async function indexRead() {
  const N = 100_000
  const store = new engine.MemoryStoreAdapter(adapterOptions)
  const arr = new ArrayIndex()
  for (let i = 0; i < N; i++) {
    const score = (i * 7919) % N
    await store.index.add('idx', 'id' + i, score, { status: 'ok', n: i })
    arr.add('id' + i, score, { status: 'ok', n: i })
  }
  const R = 200
  const e = await best(3, R, async () => {
    for (let i = 0; i < R; i++) await store.index.read('idx', { offset: (i * 50) % 5000, limit: 50 })
  })
  const b = await best(1, 20, async () => {
    for (let i = 0; i < 20; i++) await arr.read({ offset: (i * 50) % 5000, limit: 50 })
  })
  report('index.read 50 of 100k', e, b, 10, 'vs array sorted per read')
  await store.close()
}

async function streamRead() {
  const N = 100_000
  const store = new engine.MemoryStoreAdapter(adapterOptions)
  const arr = new ArrayStream()
  const ids = []
  for (let i = 0; i < N; i++) {
    const rec = await store.stream.append('s', { type: 'step.completed', runId: 'r', data: { i } })
    ids.push(rec.id)
    arr.append({ type: 'step.completed', runId: 'r', data: { i } })
  }
  const arrIds = (await arr.read()).map((r) => r.id)
  const R = 500
  const e = await best(3, R, async () => {
    for (let i = 0; i < R; i++) await store.stream.read('s', { after: ids[N - 200 + (i % 100)], limit: 50 })
  })
  const b = await best(2, 50, async () => {
    for (let i = 0; i < 50; i++) await arr.read({ after: arrIds[N - 200 + (i % 100)], limit: 50 })
  })
  report('stream.read after, 50 of 100k', e, b, 10, 'vs array scan')
  await store.close()
}

async function queue() {
  const N = 100_000
  const e = await best(2, N, async () => {
    const q = new engine.MemoryQueueAdapter(adapterOptions)
    let done = 0
    let resolve
    const finished = new Promise((r) => (resolve = r))
    await q.registerWorker('bench', 'noop', async () => {
      if (++done === N) resolve()
    }, { concurrency: 100 })
    const jobs = Array.from({ length: N }, (_, i) => ({ name: 'noop', data: { i } }))
    for (let i = 0; i < N; i += 1000) await q.enqueueBulk('bench', jobs.slice(i, i + 1000))
    await finished
    await q.close()
  })
  const b = await best(2, N, async () => {
    const q = new MiniQueue()
    q.process(async () => {}, 100)
    for (let i = 0; i < N; i++) q.enqueue('noop', { i })
    await q.drained()
  })
  report('queue 100k no-op jobs, concurrency 100', e, b, 0.25, 'vs minimal JS queue')
}

async function bus() {
  const N = 200_000
  let hits = 0
  const onEvent = () => {
    hits++
  }
  const b0 = new engine.EventBus()
  for (let i = 0; i < 10; i++) b0.onType('flow.step', onEvent)
  const ee = emitterWith(10, onEvent)
  const ev = { type: 'flow.step', runId: 'r1', data: { i: 1 } }
  const e = await best(3, N, async () => {
    for (let i = 0; i < N; i++) b0.publish(ev)
  })
  const b = await best(3, N, async () => {
    for (let i = 0; i < N; i++) ee.emit('flow.step', ev)
  })
  if (hits === 0) throw new Error('bus handlers never ran')
  report('bus publish to 10 JS handlers', e, b, null, 'vs EventEmitter')
}

const only = process.argv[2]
for (const [name, fn] of Object.entries({ kv, indexRead, streamRead, queue, bus })) {
  if (only && only !== name) continue
  await fn()
}

const fmt = (n) => (n >= 1e6 ? (n / 1e6).toFixed(2) + 'M' : n >= 1e3 ? (n / 1e3).toFixed(1) + 'k' : n.toFixed(1))
console.log('\n| benchmark | engine ops/s | baseline ops/s | ratio | target | |')
console.log('|---|---:|---:|---:|---:|---|')
let misses = 0
for (const r of results) {
  const ok = r.target == null ? '' : r.ratio >= r.target ? 'meets' : 'MISSES'
  if (ok === 'MISSES') misses++
  console.log(
    `| ${r.name} (${r.note}) | ${fmt(r.engineRate)} | ${fmt(r.baseRate)} | ${r.ratio.toFixed(2)}x | ${
      r.target == null ? '-' : '>= ' + r.target + 'x'
    } | ${ok} |`,
  )
}
console.log(`\n${results.length} benchmarks, ${misses} below target`)
