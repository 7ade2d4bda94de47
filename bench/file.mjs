// Benchmarks of the file backends, reported as ratios against baselines measured in the
// same run (issue "File backends"). Run: `npm run bench:file`.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { FileStoreAdapter, FileQueueAdapter } from '../index.mjs'

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nvent-bench-file-'))
process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }))
let dirs = 0
const dir = () => path.join(root, String(++dirs))

const event = { type: 'step.completed', runId: 'run-1234567890', flowName: 'checkout', data: { amount: 1999, currency: 'EUR', note: 'benchmark event of about 200 B' } }
const line = JSON.stringify(event) + '\n'

/** Runs `fn` and returns operations per second for `ops` operations. */
async function rate(ops, fn) {
  const t0 = process.hrtime.bigint()
  await fn()
  return ops / (Number(process.hrtime.bigint() - t0) / 1e9)
}

/** Appends `n` events keeping `inflight` calls in flight. */
async function appendMany(store, n, inflight) {
  let next = 0
  const worker = async () => {
    while (next < n) {
      next++
      await store.stream.append('bench', event)
    }
  }
  await Promise.all(Array.from({ length: inflight }, worker))
}

// The engine and its baselines run in alternating rounds and each keeps its best round:
// on a shared machine a burst of load then hits both sides alike instead of one run.
const ROUNDS = Number(process.env.ROUNDS ?? 5)

const results = []
const report = (name, engine, base, target, note) => results.push({ name, engine, base, ratio: engine / base, target, note })

// 1. batch-mode appends vs appendFile per event (the reference) and vs raw writeSync.
{
  const N = 20_000
  const store = new FileStoreAdapter({ dataDir: dir(), durability: 'batch' })
  await store.init()
  await appendMany(store, 2000, 64)
  const refFile = path.join(dir() + '.log')
  const rawFile = path.join(dir() + '.raw')
  const fd = fs.openSync(rawFile, 'a')
  // The floor of any append that takes an event object: the same call shape (a Promise
  // of the record { id, ts, ...event }), 64 in flight, with nothing but building the
  // record, JSON.stringify and a blocking writeSync (no validation, no checksum, no
  // durability tracking, the event loop blocked on every write). Compared with raw
  // writeSync of a line serialized once, it shows what the 0.5x target leaves for an
  // engine: JSON.stringify of this event alone costs about as much as the write.
  const floorFd = fs.openSync(dir() + '.floor', 'a')
  let seq = 0
  const floorStore = {
    stream: {
      async append(subject, ev) {
        const rec = { id: `${Date.now()}-${seq++}`, ts: Date.now(), ...ev }
        fs.writeSync(floorFd, JSON.stringify(rec) + '\n')
        return rec
      },
    },
  }
  let e = 0
  let ref = 0
  let raw = 0
  let floor = 0
  for (let round = 0; round < ROUNDS; round++) {
    e = Math.max(e, await rate(N, () => appendMany(store, N, 64)))
    ref = Math.max(
      ref,
      await rate(2000, async () => {
        for (let i = 0; i < 2000; i++) await fs.promises.appendFile(refFile, line)
      }),
    )
    raw = Math.max(
      raw,
      await rate(N, async () => {
        for (let i = 0; i < N; i++) fs.writeSync(fd, line)
      }),
    )
    floor = Math.max(floor, await rate(N, () => appendMany(floorStore, N, 64)))
  }
  fs.closeSync(fd)
  fs.closeSync(floorFd)
  await store.close()
  report('append 200 B, batch mode, 64 in flight', e, ref, 10, 'vs fs.promises.appendFile per event')
  report('append 200 B, batch mode, 64 in flight', e, raw, 0.5, 'vs raw sequential fs.writeSync')
  report('floor: record + JSON.stringify + writeSync per event, no engine', floor, raw, null, 'vs raw sequential fs.writeSync')
  report('append 200 B, batch mode, 64 in flight', e, floor, null, 'vs that floor')
}

// 2. always mode, 16 concurrent writers (group commit) vs one fsync per event.
{
  const N = 2000
  const store = new FileStoreAdapter({ dataDir: dir(), durability: 'always' })
  await store.init()
  const fd = fs.openSync(dir() + '.fsync', 'a')
  let e = 0
  let base = 0
  for (let round = 0; round < ROUNDS; round++) {
    e = Math.max(e, await rate(N, () => appendMany(store, N, 16)))
    base = Math.max(
      base,
      await rate(300, async () => {
        for (let i = 0; i < 300; i++) {
          fs.writeSync(fd, line)
          fs.fsyncSync(fd)
        }
      }),
    )
  }
  fs.closeSync(fd)
  await store.close()
  report('append 200 B, always mode, 16 writers', e, base, 4, 'vs writeSync + fsyncSync per event')
}

// 3. restart of a store holding 1M events.
{
  const N = Number(process.env.RESTART_EVENTS ?? 1_000_000)
  const dataDir = dir()
  let store = new FileStoreAdapter({ dataDir, durability: 'none' })
  await appendMany(store, N, 256)
  await store.close()
  const bytes = fs.readdirSync(dataDir).reduce((sum, f) => sum + fs.statSync(path.join(dataDir, f)).size, 0)
  const t0 = process.hrtime.bigint()
  store = new FileStoreAdapter({ dataDir })
  await store.init()
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  const count = await store.stream.count('bench')
  await store.close()
  if (count !== N) throw new Error(`restart found ${count} of ${N} events`)
  results.push({ name: `restart with ${N} events (${(bytes / 2 ** 20).toFixed(0)} MiB)`, seconds, limit: 2 })
}

// 4. 100k no-op jobs on the file queue in batch mode.
{
  const N = 100_000
  const q = new FileQueueAdapter({ dataDir: dir(), durability: 'batch' })
  const e = await rate(N, async () => {
    let done = 0
    let resolve
    const finished = new Promise((r) => (resolve = r))
    await q.registerWorker('bench', 'noop', async () => {
      if (++done === N) resolve()
    }, { concurrency: 100 })
    const jobs = Array.from({ length: 1000 }, (_, i) => ({ name: 'noop', data: { i } }))
    for (let i = 0; i < N; i += 1000) await q.enqueueBulk('bench', jobs)
    await finished
  })
  await q.close()
  results.push({ name: 'queue 100k no-op jobs, batch mode, concurrency 100', perSecond: e })
}

const fmt = (n) => (n >= 1e6 ? (n / 1e6).toFixed(2) + 'M' : n >= 1e3 ? (n / 1e3).toFixed(1) + 'k' : n.toFixed(1))
console.log('\n| benchmark | engine | baseline | ratio | target | |')
console.log('|---|---:|---:|---:|---:|---|')
let misses = 0
for (const r of results) {
  if (r.seconds !== undefined) {
    const ok = r.seconds <= r.limit
    if (!ok) misses++
    console.log(`| ${r.name} | ${r.seconds.toFixed(2)} s | - | - | <= ${r.limit} s | ${ok ? 'meets' : 'MISSES'} |`)
  } else if (r.perSecond !== undefined) {
    console.log(`| ${r.name} | ${fmt(r.perSecond)}/s | - | - | - | |`)
  } else if (r.target === null) {
    console.log(`| ${r.name} (${r.note}) | ${fmt(r.engine)}/s | ${fmt(r.base)}/s | ${r.ratio.toFixed(2)}x | info | |`)
  } else {
    const ok = r.ratio >= r.target
    if (!ok) misses++
    console.log(`| ${r.name} (${r.note}) | ${fmt(r.engine)}/s | ${fmt(r.base)}/s | ${r.ratio.toFixed(2)}x | >= ${r.target}x | ${ok ? 'meets' : 'MISSES'} |`)
  }
}
console.log(`\n${results.length} benchmarks, ${misses} below target (ratios: best of ${ROUNDS} alternating rounds per side)`)
