// Backend factories for the conformance suite. A backend gives fresh adapters per test
// (each factory takes extra adapter options, e.g. `{ values: 'strict' }`); a backend
// without a factory for an adapter type skips that suite.
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
    store: (opts) => new MemoryStoreAdapter(opts),
    // What a child process needs to build a store of this backend (fixtures/store-child.mjs).
    storeSpec: () => ({ adapter: 'MemoryStoreAdapter', options: {} }),
    queue: (opts) => new MemoryQueueAdapter(opts),
    stream: (opts) => new MemoryStreamAdapter(opts),
  },
  {
    name: 'file',
    store: (opts) => new FileStoreAdapter({ dataDir: freshDir(), ...opts }),
    storeSpec: () => ({ adapter: 'FileStoreAdapter', options: { dataDir: freshDir() } }),
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
    store: (opts) => new RedisStoreAdapter({ connection: server.connection, prefix: `t${process.pid}s${++n}`, ...opts }),
    storeSpec: () => ({ adapter: 'RedisStoreAdapter', options: { connection: server.connection, prefix: `t${process.pid}s${++n}` } }),
    stream: (opts) => new RedisStreamAdapter({ connection: server.connection, prefix: `t${process.pid}m${++n}`, ...opts }),
    queue: (opts) => new RedisQueueAdapter({ connection: server.connection, prefix: `t${process.pid}q${++n}`, ...opts }),
  })
} else if (process.env.CI) {
  throw new Error('redis-server is required in CI (.ci/run installs it)')
}
