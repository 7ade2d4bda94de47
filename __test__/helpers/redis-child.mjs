// A child process of the cross-process Redis tests: opens a store and a stream on the
// Redis given in argv and runs what the parent sends over IPC, answering { id, ok, value }.
import { RedisStoreAdapter, RedisStreamAdapter } from '../../index.mjs'

const [port, name] = process.argv.slice(2)
const connection = { host: '127.0.0.1', port: Number(port) }
const store = new RedisStoreAdapter({ connection })
const stream = new RedisStreamAdapter({ connection, prefix: 'xproc', claimIdleMs: 300 })
const got = {}
const note = (key, v) => (got[key] ??= []).push(v)

const actions = {
  async updates({ key, id, n }) {
    await Promise.all(
      Array.from({ length: n }, (_, i) => store.index.updateWithRetry(key, id, { [`${name}_${i}`]: i })),
    )
  },
  async increments({ key, id, n }) {
    await Promise.all(Array.from({ length: n }, () => store.index.increment(key, id, 'stats.n', 1)))
    await Promise.all(Array.from({ length: n }, () => store.kv.increment(`${key}:kv`, 0.5)))
  },
  async claims({ keys }) {
    const won = []
    await Promise.all(keys.map(async (k) => (await store.claim.once(k, name, 30)) && won.push(k)))
    return won
  },
  async subscribe({ topic, group }) {
    await stream.subscribe(topic, (m) => note(topic, m.data), group ? { group } : {})
  },
  async storeSubscribe({ subject, records }) {
    await store.stream.subscribe(subject, (e) => note(subject, records ? { id: e.id, data: e.data } : e.data))
  },
  async appends({ subject, n }) {
    await Promise.all(Array.from({ length: n }, (_, i) => store.stream.append(subject, { type: 't', data: `${name}-${i}` })))
  },
  got: ({ key }) => got[key] ?? [],
}

process.on('message', async ({ id, action, args }) => {
  try {
    process.send({ id, ok: true, value: await actions[action](args) })
  } catch (e) {
    process.send({ id, ok: false, value: { code: e.code, message: e.message } })
  }
})
process.send({ ready: true })
