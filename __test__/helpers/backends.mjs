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
import { haveRedis, startRedis, startTlsRedis } from './redis-server.mjs'

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

// The Redis backends run on servers of their own (never the machine's 6379). Tests use
// unique names, so one server serves a whole run. Three connection paths, each its own
// backend: `redis` (commands from JS on the event-loop connection), `redis-noloop` (the
// shared connection only: NVENT_LOOP_IO=0, which the engine reads when an adapter is made,
// so that run is a process of its own) and `redis-tls` (TLS, which uses the shared
// connection too). `NVENT_CONFORMANCE` names the backends of a run (comma-separated); by
// default memory, file and redis. conformance-redis-paths.test.mjs runs the other two.
const wanted = new Set((process.env.NVENT_CONFORMANCE || 'memory,file,redis').split(','))
for (let i = backends.length - 1; i >= 0; i--) if (!wanted.has(backends[i].name)) backends.splice(i, 1)

function redisBackend(name, server, connection) {
  let n = 0
  return {
    name,
    server,
    store: (opts) => new RedisStoreAdapter({ connection, prefix: `t${process.pid}s${++n}`, ...opts }),
    storeSpec: () => ({ adapter: 'RedisStoreAdapter', options: { connection, prefix: `t${process.pid}s${++n}` } }),
    stream: (opts) => new RedisStreamAdapter({ connection, prefix: `t${process.pid}m${++n}`, ...opts }),
    queue: (opts) => new RedisQueueAdapter({ connection, prefix: `t${process.pid}q${++n}`, ...opts }),
  }
}

if (!haveRedis()) {
  if (process.env.CI) throw new Error('redis-server is required in CI (.ci/run installs it)')
} else {
  if (wanted.has('redis')) {
    const server = await startRedis()
    backends.push(redisBackend('redis', server, server.connection))
  }
  if (wanted.has('redis-noloop')) {
    if (process.env.NVENT_LOOP_IO !== '0') throw new Error('the redis-noloop backend needs NVENT_LOOP_IO=0 in the environment')
    const server = await startRedis()
    backends.push(redisBackend('redis-noloop', server, server.connection))
  }
  if (wanted.has('redis-tls')) {
    const { server, tlsPort, ca } = await startTlsRedis()
    backends.push(redisBackend('redis-tls', server, { host: '127.0.0.1', port: tlsPort, tls: { ca } }))
  }
}
