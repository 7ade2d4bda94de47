// Redis backends against ioredis used the way the TypeScript reference adapter uses it,
// measured in one run against the same redis-server (started here on a free loopback
// port) and reported as ratios. Run: `npm run build && node bench/redis.mjs`.
// Targets come from issue 5; a miss is printed, not hidden.
import { createRequire } from 'node:module'
import { startRedis } from '../__test__/helpers/redis-server.mjs'

const require = createRequire(import.meta.url)
const { RedisStoreAdapter } = require('../index.js')
const Redis = require('ioredis')

const server = await startRedis()
const connection = server.connection
const store = new RedisStoreAdapter({ connection, prefix: 'bench' })
const plain = new Redis({ port: server.port, host: '127.0.0.1', lazyConnect: false })
const piped = new Redis({ port: server.port, host: '127.0.0.1', enableAutoPipelining: true })

const payload = {
  type: 'step.completed',
  runId: 'run-1234567890',
  flowName: 'checkout',
  stepName: 'charge-card',
  attempt: 1,
  data: { amount: 1999, currency: 'EUR', items: [1, 2, 3], note: 'benchmark payload of about 200 B' },
}

async function rate(ops, fn) {
  const t0 = process.hrtime.bigint()
  await fn()
  return ops / (Number(process.hrtime.bigint() - t0) / 1e9)
}
/**
 * Best rate of each side over `rounds` rounds, after one warm-up round each. The sides
 * take turns round by round, so a burst of load from elsewhere on a shared machine hits
 * both rather than whichever happened to run then.
 */
async function bestOfEach(rounds, ops, fns) {
  for (const fn of fns) await rate(ops, fn)
  const top = fns.map(() => 0)
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < fns.length; i++) top[i] = Math.max(top[i], await rate(ops, fns[i]))
  }
  return top
}
const ROUNDS = Number(process.env.ROUNDS || 5)
/** `total` calls of `one(i)`, `callers` of them in flight at a time. */
async function concurrent(total, callers, one) {
  let next = 0
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < total) await one(next++)
    }),
  )
}

// The reference adapter's decoding of a metadata hash: dot paths to objects, JSON leaves.
function expand(hash) {
  const out = {}
  for (const [k, raw] of Object.entries(hash)) {
    let v
    try {
      v = JSON.parse(raw)
    } catch {
      v = raw
    }
    const parts = k.split('.')
    let o = out
    for (let i = 0; i < parts.length - 1; i++) o = o[parts[i]] ??= {}
    o[parts[parts.length - 1]] = v
  }
  return out
}

const results = []
const report = (name, mine, theirs, target) => results.push({ name, mine, theirs, ratio: mine / theirs, target })

// index.read of a 50-entry page: the reference reads ids with ZREVRANGE, then HGETALL per id.
{
  const key = 'bench:index'
  for (let i = 0; i < 200; i++) {
    await store.index.add(key, `e${i}`, i, { status: 'running', stats: { total: i, done: i / 2 }, name: `flow-${i}` })
  }
  const R = 200
  const mine = async () => {
    for (let i = 0; i < R; i++) await store.index.read(key, { limit: 50 })
  }
  const refSeq = async () => {
    for (let i = 0; i < R; i++) {
      const ids = await plain.zrevrange(key, 0, 49, 'WITHSCORES')
      const out = []
      for (let j = 0; j < ids.length; j += 2) {
        out.push({ id: ids[j], score: Number(ids[j + 1]), metadata: expand(await plain.hgetall(`${key}:meta:${ids[j]}`)) })
      }
    }
  }
  const refPar = async () => {
    for (let i = 0; i < R; i++) {
      const ids = await piped.zrevrange(key, 0, 49, 'WITHSCORES')
      const metas = []
      for (let j = 0; j < ids.length; j += 2) metas.push(piped.hgetall(`${key}:meta:${ids[j]}`))
      const all = await Promise.all(metas)
      all.map((h, j) => ({ id: ids[2 * j], score: Number(ids[2 * j + 1]), metadata: expand(h) }))
    }
  }
  const [m, seq, par] = await bestOfEach(ROUNDS, R, [mine, refSeq, refPar])
  report('index.read 50-entry page vs ZREVRANGE + HGETALL per id (awaited in turn)', m, seq, 10)
  report('index.read 50-entry page vs the same, HGETALLs auto-pipelined', m, par, null)
}

// stream.append with 100 concurrent callers: the reference does XADD MAXLEN ~ with JSON fields.
{
  const N = 20000
  const [mine, ref] = await bestOfEach(ROUNDS, N, [
    () => concurrent(N, 100, () => store.stream.append('bench:events', payload)),
    () =>
      concurrent(N, 100, () => {
        const fields = []
        for (const [k, v] of Object.entries(payload)) fields.push(k, JSON.stringify(v))
        return plain.xadd('bench:events:ref', 'MAXLEN', '~', 10000, '*', ...fields)
      }),
  ])
  report('stream.append, 100 concurrent callers vs ioredis XADD', mine, ref, 3)
}

// kv get/set with 100 concurrent callers vs ioredis with auto-pipelining.
{
  const N = 40000
  const value = { n: 1, s: 'x'.repeat(100), list: [1, 2, 3] }
  const [mine, ref] = await bestOfEach(ROUNDS, N, [
    () =>
      concurrent(N, 100, (i) => (i % 2 ? store.kv.get(`bench:kv:${i % 1000}`) : store.kv.set(`bench:kv:${i % 1000}`, value))),
    () =>
      concurrent(N, 100, async (i) => {
        if (i % 2) {
          const t = await piped.get(`bench:kvref:${i % 1000}`)
          return t === null ? null : JSON.parse(t)
        }
        return piped.set(`bench:kvref:${i % 1000}`, JSON.stringify(value))
      }),
  ])
  report('kv get/set, 100 concurrent callers vs ioredis auto-pipelining', mine, ref, 1.5)
}

console.log(`\nRedis benchmarks (ops/s, best of ${ROUNDS} alternating rounds per side; ratio = engine / ioredis reference)\n`)
for (const r of results) {
  const verdict = r.target == null ? '' : r.ratio >= r.target ? `  ok (target ≥ ${r.target}x)` : `  MISSED (target ≥ ${r.target}x)`
  console.log(`${r.name}\n  engine ${Math.round(r.mine)} /s, ioredis ${Math.round(r.theirs)} /s, ratio ${r.ratio.toFixed(2)}x${verdict}`)
}

await store.close()
plain.disconnect()
piped.disconnect()
await server.close()
