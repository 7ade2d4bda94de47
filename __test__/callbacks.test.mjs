// User callbacks that fail in hostile ways (SPEC §2): a job handler, a queue listener, a
// store or stream subscriber, a bus handler or a JS adapter that throws or rejects with a
// value String() cannot convert, or returns a thenable whose `then` throws, fails only its
// own work. Each combination runs in a child process (fixtures/hostile-callbacks.mjs),
// because before the fix the process died; the parent asserts a clean exit first.
// Also: a retry storm or an endless chain of jobs never freezes the event loop (issue 14 #9).
import { describe, test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { haveRedis, startRedis } from './helpers/redis-server.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const redis = haveRedis() ? await startRedis() : null
after(() => redis && redis.stop && redis.stop())

function child(script, args) {
  const r = spawnSync(process.execPath, [path.join(here, 'fixtures', script), ...args], {
    encoding: 'utf8',
    timeout: 90_000,
  })
  assert.equal(r.signal, null, `killed by ${r.signal} (timed out or crashed); stderr: ${r.stderr}`)
  assert.equal(r.status, 0, `exit code ${r.status}; stderr: ${r.stderr}`)
  const lines = r.stdout.trim().split('\n')
  return JSON.parse(lines[lines.length - 1])
}

const KINDS = {
  queue: ['memory', 'file', 'redis'],
  listener: ['memory', 'file', 'redis'],
  store: ['memory', 'file', 'redis'],
  stream: ['memory', 'redis'],
  bus: ['memory'],
  adapter: ['memory'],
}

describe('hostile thrown values never crash the process (issue 14 #3, #4)', () => {
  for (const [kind, backends] of Object.entries(KINDS)) {
    for (const backend of backends) {
      const skip = backend === 'redis' && !redis && 'redis-server not installed'
      test(`${kind} on ${backend}: every value thrown, rejected or thrown by then() fails only its own callback`, { skip }, () => {
        const out = child('hostile-callbacks.mjs', [kind, backend, String(redis ? redis.connection.port : 0)])
        // 9 values × 3 ways (throw, reject, a thenable whose then throws).
        assert.equal(out.cases, 27)
        if (kind === 'queue') {
          assert.equal(out.good, 'fine', 'a well-behaved job of the same queue still completes')
          assert.equal(out.reasons.length, 27)
          for (const reason of out.reasons) {
            assert.equal(typeof reason, 'string')
            assert.ok(reason.length > 0)
          }
          // Values String() cannot convert get the fixed text naming what was thrown.
          assert.ok(out.reasons[0].includes('non-Error value'), out.reasons[0])
          assert.ok(out.reasons[0].includes('without a prototype'), out.reasons[0])
          assert.ok(out.reasons.some((r) => r.includes('a Proxy')))
          assert.ok(out.reasons.some((r) => r.includes('Symbol(thrown)')))
        } else if (kind === 'adapter') {
          assert.ok(out.errors >= 27, `every failed call reported (${out.errors})`)
        } else {
          assert.equal(out.seen, 3, 'the well-behaved callback got every event')
          assert.ok(out.errors >= 81, `every failure reported as nvent.error (${out.errors})`)
          if (kind === 'bus') assert.equal(out.publishThrew, 0, 'publish never throws')
        }
        assert.equal(out.badMessages, 0, 'every report has a readable message')
      })
    }
  }
})

describe('retries and job chains never freeze the event loop (issue 14 #9)', () => {
  for (const backend of ['memory', 'file-none', 'file']) {
    for (const mode of ['retry', 'chain']) {
      const what = mode === 'retry' ? 'an always-failing job with attempts: 1e9 and no backoff' : 'a job that enqueues its successor forever'
      test(`${backend}: ${what} lets timers fire and close() return`, () => {
        const out = child('retry-storm.mjs', [backend, mode])
        assert.ok(out.runs > 0, 'the jobs ran meanwhile')
        // 20 ms timers: a bound far above the timer, far below a freeze (the child times
        // out after 90 s) and safe on a loaded 2-core machine.
        for (const ms of out.late) assert.ok(ms < 2000, `a 20 ms timer fired after ${ms} ms`)
        assert.ok(out.closeMs < 10_000, `close() took ${out.closeMs} ms`)
      })
    }
  }
})
