// Backend factories for the conformance suite. A backend gives fresh adapters per test;
// a backend without a factory for an adapter type skips that suite.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  MemoryStoreAdapter,
  MemoryQueueAdapter,
  MemoryStreamAdapter,
  FileStoreAdapter,
  FileQueueAdapter,
  RedisStoreAdapter,
  RedisStreamAdapter,
  RedisQueueAdapter,
} from '../../index.js'
import { haveRedis, startRedis } from './redis-server.mjs'

// Every file adapter gets its own data dir under one temp root, removed when the run ends.
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nvent-conformance-'))
process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }))
let dirs = 0
export const freshDir = () => path.join(root, String(++dirs))

export const backends = [
  {
    name: 'memory',
    store: () => new MemoryStoreAdapter(),
    queue: (opts) => new MemoryQueueAdapter(opts),
    stream: () => new MemoryStreamAdapter(),
  },
  {
    name: 'file',
    store: () => new FileStoreAdapter({ dataDir: freshDir() }),
    queue: (opts) => new FileQueueAdapter({ dataDir: freshDir(), ...opts }),
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
    queue: (opts) => new RedisQueueAdapter({ connection: server.connection, prefix: `t${process.pid}q${++n}`, ...opts }),
  })
} else if (process.env.CI) {
  throw new Error('redis-server is required in CI (.ci/run installs it)')
}
