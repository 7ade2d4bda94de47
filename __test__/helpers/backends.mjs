// Backend factories for the conformance suite. A backend gives fresh adapters per test;
// a backend without a factory for some adapter kind skips that suite.
import {
  MemoryStoreAdapter,
  MemoryQueueAdapter,
  MemoryStreamAdapter,
  RedisStoreAdapter,
  RedisStreamAdapter,
} from '../../index.js'
import { haveRedis, startRedis } from './redis-server.mjs'

export const backends = [
  {
    name: 'memory',
    store: () => new MemoryStoreAdapter(),
    queue: (opts) => new MemoryQueueAdapter(opts),
    stream: () => new MemoryStreamAdapter(),
  },
]

// The Redis backend runs on a server of its own (never the machine's 6379). Tests use
// unique names, so one server serves the whole suite.
if (haveRedis()) {
  const server = await startRedis()
  let n = 0
  backends.push({
    name: 'redis',
    server,
    store: () => new RedisStoreAdapter({ connection: server.connection, prefix: `t${process.pid}s${++n}` }),
    stream: () => new RedisStreamAdapter({ connection: server.connection, prefix: `t${process.pid}m${++n}` }),
  })
} else if (process.env.CI) {
  throw new Error('redis-server is required in CI (.ci/run installs it)')
}
