// The Redis queue across processes and faults (SPEC §5, §9): kill -9 of workers with a ledger on
// a Redis that no fault touches (no job lost, every rerun explained by a kill), a worker stopped
// past its lease (the job reruns on another instance, the stale completion is refused with
// NVENT_LOCK_LOST on that worker's bus), a Redis restart mid-run (appendonly, fsync always:
// nothing lost, workers resume by themselves), delayed and cron jobs firing once across three
// instances, and a pause on one instance holding workers in every process. Real redis-server
// processes, real child processes (helpers/redis-queue-worker.mjs); every wait is on a condition.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { fork } from 'node:child_process'
import { createRequire } from 'node:module'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { RedisQueueAdapter } from '../index.mjs'
import { haveRedis, startRedis, command } from './helpers/redis-server.mjs'
import { unique, settle, gate } from './helpers/expect.mjs'
import { waitFor } from './helpers/wait.mjs'

const native = createRequire(import.meta.url)('../js/native.js')
const WORKER = fileURLToPath(new URL('./helpers/redis-queue-worker.mjs', import.meta.url))
const available = haveRedis()
const skip = !available && `redis-server not installed${process.env.CI ? '' : ' (under CI this is a failure)'}`
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

if (!available && process.env.CI) {
  test('redis-server is installed (required under CI)', () => {
    assert.fail('redis-server is required under CI (.ci/run installs it): the Redis queue tests cannot run')
  })
}

function withTimeout(promise, ms, what) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** `waitFor` whose timeout message also says what was last seen (`detail()`). */
async function until(what, check, { timeoutMs = 30000, intervalMs = 50, detail } = {}) {
  try {
    return await waitFor(check, { what, timeoutMs, intervalMs })
  } catch (e) {
    if (detail) e.message += ` (last seen: ${detail()})`
    throw e
  }
}

/**
 * Records what redis-server runs (MONITOR on a socket of its own): `ready` once it records,
 * `stop()` ends it and returns the lines, one per command.
 */
function monitor(port) {
  const sock = net.connect(port, '127.0.0.1')
  let text = ''
  let ready
  const started = new Promise((resolve, reject) => {
    ready = resolve
    sock.on('error', reject)
  })
  sock.on('connect', () => sock.write('MONITOR\r\n'))
  sock.on('data', (d) => {
    text += d.toString('utf8')
    if (text.startsWith('+OK\r\n')) ready()
  })
  const lines = () => text.split('\r\n').slice(1).filter(Boolean)
  return {
    ready: started,
    /** The lines so far (MONITOR streams them: a command may show up after its reply). */
    lines,
    stop() {
      sock.destroy()
      return lines()
    },
  }
}

/** The SHA1s of the scripts MONITOR (`mon`) saw run on the queue whose keys start with `base`. */
function scriptsOn(mon, base) {
  return mon
    .lines()
    .filter((l) => l.includes(`"${base}meta"`))
    .map((l) => /"EVALSHA" "([0-9a-f]{40})"/i.exec(l)?.[1])
    .filter(Boolean)
}

/** The SHA1 a queue script runs under, as the engine sends it (its shared part trimmed). */
function queueScriptSha(file) {
  const sha = native.debugQueueScriptSha(file)
  assert.ok(sha, `the engine knows no queue script ${file}`)
  return sha
}

const children = new Set()

/**
 * Forks helpers/redis-queue-worker.mjs with `config` and drives it over IPC: `ready`, `call(action,
 * args)`, `events` (messages `{ event, ... }` it sent), `exited` (resolves with `{ code, signal }`).
 */
function startWorker(config) {
  const proc = fork(WORKER, [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const waiting = new Map()
  let next = 0
  let readyResolve
  let readyReject
  let exitedResolve
  const w = {
    proc,
    pid: proc.pid,
    events: [],
    isReady: false,
    exit: null,
    // Set before the test ends the process (kill or close): any other exit is a failure.
    expectedExit: false,
    ready: new Promise((resolve, reject) => ((readyResolve = resolve), (readyReject = reject))),
    exited: new Promise((resolve) => (exitedResolve = resolve)),
    call: (action, args) =>
      new Promise((resolve, reject) => {
        if (w.exit) return reject(new Error(`worker ${w.pid} has exited; cannot ${action}`))
        const id = ++next
        waiting.set(id, { resolve, reject })
        proc.send({ id, action, args })
      }),
    kill() {
      w.expectedExit = true
      if (!w.exit) proc.kill('SIGKILL')
      return w.exited
    },
    /** The first `{ event: name }` message, once it has arrived. */
    until: (name, what, timeoutMs = 20000) =>
      waitFor(() => (alive([w]), w.events.find((e) => e.event === name)), { what, timeoutMs }),
  }
  w.ready.catch(() => {})
  // EPIPE when sending to a process that just died; the exit handler reports the death.
  proc.on('error', () => {})
  proc.on('message', (m) => {
    if (m.ready) {
      w.isReady = true
      readyResolve()
    } else if (m.reply !== undefined) {
      const p = waiting.get(m.reply)
      waiting.delete(m.reply)
      if (m.ok) p.resolve(m.value)
      else p.reject(Object.assign(new Error(`worker ${w.pid}: ${m.value.message}`), { code: m.value.code }))
    } else if (m.event) w.events.push(m)
  })
  proc.on('exit', (code, signal) => {
    w.exit = { code, signal }
    children.delete(w)
    const err = new Error(`worker ${w.pid} exited (code ${code}, signal ${signal})`)
    readyReject(err)
    for (const p of waiting.values()) p.reject(err)
    waiting.clear()
    exitedResolve(w.exit)
  })
  children.add(w)
  return w
}

/** Throws when a worker exited that the test did not end: a running worker keeps its process alive. */
function alive(workers) {
  for (const w of workers) {
    if (w.exit && !w.expectedExit) {
      throw new Error(
        `worker ${w.pid} exited unexpectedly (code ${w.exit.code}, signal ${w.exit.signal}); ` +
          'a running Redis worker must keep its process alive until close()',
      )
    }
  }
  return true
}

/** Asks a worker to close its adapter; resolves with its exit once it has exited by itself. */
async function stop(w) {
  if (w.exit) return w.exit
  await w.ready
  w.expectedExit = true
  await withTimeout(w.call('close'), 20000, `close() in worker ${w.pid}`)
  return withTimeout(w.exited, 10000, `worker ${w.pid} to exit by itself after close() (something still holds its event loop)`)
}

async function stopAll(workers) {
  const exits = await Promise.all(workers.filter((w) => !w.exit).map(async (w) => [w.pid, await stop(w)]))
  for (const [pid, exit] of exits) {
    assert.deepEqual(exit, { code: 0, signal: null }, `worker ${pid} exits cleanly by itself after close()`)
  }
}

/** The ledger list: `{ at, kind, n, pid, attemptsMade, jobId, entry }` in append order. */
async function ledgerOf(port, key) {
  const raw = await command(port, ['LRANGE', key, '0', '-1'])
  return raw.map((entry, at) => {
    const [kind, n, pid, attempts, ...id] = entry.split(':')
    return { at, kind, n, pid: Number(pid), attemptsMade: Number(attempts), jobId: id.join(':'), entry }
  })
}

/** The `nvent.error` events the workers saw, as `{ pid, source, code, message }`. */
async function errorsOf(port, key) {
  return (await command(port, ['LRANGE', `${key}:errors`, '0', '-1'])).map((t) => JSON.parse(t))
}

/** getJob for every id, a bounded number at a time. */
async function jobsOf(queue, q, ids) {
  const out = []
  for (let i = 0; i < ids.length; i += 200) {
    out.push(...(await Promise.all(ids.slice(i, i + 200).map((id) => queue.getJob(q, id)))))
  }
  return out
}

const IDLE = { waiting: 0, active: 0, delayed: 0, paused: 0 }

function assertCounts(counts, expected, what) {
  const picked = Object.fromEntries(Object.keys(expected).map((k) => [k, counts[k]]))
  assert.deepEqual(picked, expected, `${what}: getJobCounts ${JSON.stringify(counts)}`)
}

describe('redis queue: processes and faults', { skip }, () => {
  // `jobs` holds the queues; `ledger` only the tests' records of handler runs: no fault touches it.
  let jobs
  let ledger
  const servers = new Set()
  const adapters = new Set()
  const adapter = (options) => {
    const a = new RedisQueueAdapter(options)
    adapters.add(a)
    return a
  }

  before(async () => {
    jobs = await startRedis()
    servers.add(jobs)
    ledger = await startRedis()
    servers.add(ledger)
  })

  after(async () => {
    const left = [...children]
    for (const w of left) {
      w.expectedExit = true
      w.proc.kill('SIGCONT')
      w.proc.kill('SIGKILL')
    }
    await Promise.all(left.map((w) => w.exited))
    for (const a of adapters) await withTimeout(a.close(), 15000, 'an adapter to close').catch(() => {})
    for (const s of servers) await s.close()
  })

  test('kill -9 chaos: 3 workers, 8 SIGKILLs, 3000 jobs: none lost, every rerun explained by a kill', async (t) => {
    const TOTAL = 3000
    const KILLS = 8
    const prefix = unique('rq-chaos')
    const q = unique('chaos')
    const key = unique('ledger:chaos')
    const admin = adapter({ connection: jobs.connection, prefix })
    const ids = await admin.enqueueBulk(q, Array.from({ length: TOTAL }, (_, n) => ({ name: 'work', data: { n } })))
    assert.equal(ids.length, TOTAL, 'enqueueBulk returns one id per job')
    assert.equal(new Set(ids).size, TOTAL, 'enqueueBulk returns distinct ids')
    const config = {
      connection: jobs.connection,
      prefix,
      queue: q,
      jobName: 'work',
      mode: 'ledger',
      ledger: { port: ledger.port, key },
      maxDelayMs: 5,
      // A job can be in flight at two kills in a row; that must rerun it, not fail it.
      worker: { concurrency: 4, lockDuration: 1000, stalledInterval: 500, maxStalledCount: 50 },
    }
    let live = [startWorker(config), startWorker(config), startWorker(config)]
    const everyone = [...live]
    const killed = new Set()
    try {
      await Promise.all(live.map((w) => w.ready))
      let pushes = 0
      for (let k = 0; k < KILLS; k++) {
        // After a random 300–600 ms, or sooner once the ledger holds (k+1)/(KILLS+2) of the
        // run's records: on a fast machine the kills still fall inside the run.
        const pause = 300 + Math.random() * 300
        const from = Date.now()
        const mark = Math.floor((2 * TOTAL * (k + 1)) / (KILLS + 2))
        await until(`the moment of kill ${k + 1}`, async () => {
          alive(live)
          pushes = await command(ledger.port, ['LLEN', key])
          return live.some((w) => w.isReady) && (Date.now() - from >= pause || pushes >= mark)
        }, { timeoutMs: 60000, intervalMs: 10, detail: () => `${pushes} ledger records` })
        if ((await admin.getJobCounts(q)).completed === TOTAL) break
        const ready = live.filter((w) => w.isReady)
        const victim = ready[Math.floor(Math.random() * ready.length)]
        killed.add(victim.pid)
        await victim.kill()
        live = live.filter((w) => w !== victim)
        const fresh = startWorker(config)
        live.push(fresh)
        everyone.push(fresh)
      }

      let counts
      await until(`all ${TOTAL} jobs completed after the kills`, async () => {
        alive(live)
        counts = await admin.getJobCounts(q)
        return counts.completed === TOTAL
      }, { timeoutMs: 60000, intervalMs: 100, detail: () => JSON.stringify(counts) })
      assertCounts(await admin.getJobCounts(q), { ...IDLE, completed: TOTAL, failed: 0 }, 'every job completed, none failed')
      // Stop the survivors before reading the ledger, so that no run is still appending to it.
      await stopAll(live)

      const entries = await ledgerOf(ledger.port, key)
      const errors = await errorsOf(ledger.port, key)
      const strange = entries.filter((e) => !['start', 'done'].includes(e.kind) || !/^\d+$/.test(e.n) || Number(e.n) >= TOTAL)
      assert.deepEqual(strange.map((e) => e.entry), [], 'every ledger record is a start or done of a job of this test')
      const runsOf = new Map()
      for (const e of entries) {
        const n = Number(e.n)
        if (!runsOf.has(n)) runsOf.set(n, { starts: [], dones: [] })
        runsOf.get(n)[e.kind === 'start' ? 'starts' : 'dones'].push(e)
      }
      const lost = []
      for (let n = 0; n < TOTAL; n++) if (!runsOf.get(n)?.dones.length) lost.push(n)
      assert.equal(lost.length, 0, `${lost.length} of ${TOTAL} jobs lost: no handler run reached its end (n = ${lost.slice(0, 20).join(', ')})`)
      const orphanDones = []
      for (const { starts, dones } of runsOf.values()) {
        for (const d of dones) {
          if (!starts.some((s) => s.pid === d.pid && s.attemptsMade === d.attemptsMade && s.at < d.at)) orphanDones.push(d.entry)
        }
      }
      assert.deepEqual(orphanDones, [], 'every done record follows the start record of the same run')
      const otherErrors = errors.filter((e) => e.code !== 'NVENT_LOCK_LOST')
      assert.deepEqual(otherErrors, [], 'on a healthy Redis the workers report no nvent.error other than NVENT_LOCK_LOST')

      // The run that completed a job is the one its returnvalue names; every other run of that
      // job must have been cut short: by a kill, or by a lease its worker reported lost.
      const lockLost = errors.filter((e) => e.code === 'NVENT_LOCK_LOST')
      const reportedLost = (s) => lockLost.some((e) => e.pid === s.pid && String(e.message).includes(s.jobId))
      const stored = await jobsOf(admin, q, ids)
      const wrongJobs = []
      const unexplained = []
      const sameAttempt = []
      let reruns = 0
      for (let n = 0; n < TOTAL; n++) {
        const job = stored[n]
        const { starts, dones } = runsOf.get(n)
        const rv = job && job.returnvalue
        const winner = rv && starts.find((s) => s.pid === rv.pid && s.attemptsMade === rv.attemptsMade)
        if (
          !job || job.id !== ids[n] || job.state !== 'completed' || job.data?.n !== n || rv?.n !== n || !winner ||
          !dones.some((d) => d.pid === winner.pid && d.attemptsMade === winner.attemptsMade) ||
          job.attemptsMade !== winner.attemptsMade + 1
        ) {
          wrongJobs.push({ n, job, runs: starts.map((s) => s.entry), dones: dones.map((d) => d.entry) })
          continue
        }
        if (new Set(starts.map((s) => s.attemptsMade)).size !== starts.length) sameAttempt.push(starts.map((s) => s.entry))
        if (starts.length > 1) reruns++
        for (const s of starts) {
          if (s !== winner && !killed.has(s.pid) && !reportedLost(s)) unexplained.push({ n, run: s.entry, completedBy: winner.entry })
        }
      }
      assert.deepEqual(
        wrongJobs.slice(0, 5),
        [],
        `${wrongJobs.length} jobs are not completed by a run the ledger shows finished, with attemptsMade = that run's attemptsMade + 1`,
      )
      assert.deepEqual(sameAttempt.slice(0, 5), [], 'two runs of one job never see the same attemptsMade')
      assert.deepEqual(
        unexplained.slice(0, 10),
        [],
        `${unexplained.length} runs of completed jobs were neither in a killed process nor reported NVENT_LOCK_LOST ` +
          `(killed: ${[...killed].join(', ')}); a job may run again only after its run was cut short`,
      )

      // The test proves something only if the kills fell inside the run and cut handlers short.
      const cut = entries.filter(
        (s) => s.kind === 'start' && killed.has(s.pid) &&
          !runsOf.get(Number(s.n)).dones.some((d) => d.pid === s.pid && d.attemptsMade === s.attemptsMade),
      )
      assert.equal(killed.size, KILLS, `all ${KILLS} kills fell inside the run (the queue drained after ${killed.size}; raise TOTAL)`)
      assert.ok(cut.length > 0, 'at least one kill caught a handler mid-run (otherwise nothing here tested recovery)')
      t.diagnostic(
        `kills ${killed.size}, handler runs cut by a kill ${cut.length}, jobs run more than once ${reruns}, ` +
          `NVENT_LOCK_LOST reports ${lockLost.length}, worker processes ${everyone.length}`,
      )
    } finally {
      await Promise.all(everyone.map((w) => w.kill()))
      await admin.close()
    }
  })

  test('a worker stopped past its lease: another instance reruns the job; the stale completion is refused (NVENT_LOCK_LOST)', async () => {
    const prefix = unique('rq-lease')
    const q = unique('lease')
    const lease = { concurrency: 1, lockDuration: 500, stalledInterval: 250, maxStalledCount: 1 }
    const stale = startWorker({
      connection: jobs.connection, prefix, queue: q, jobName: 'work', mode: 'gate', returns: 'from-the-stopped-worker', worker: lease,
    })
    const other = adapter({ connection: jobs.connection, prefix, worker: lease })
    try {
      await stale.ready
      const stalled = []
      const completed = []
      other.on(q, 'stalled', (p) => stalled.push(p))
      other.on(q, 'completed', (p) => completed.push(p))
      const id = await other.enqueue(q, { name: 'work', data: { n: 'overrun' } })
      const started = await stale.until('started', 'the child worker to start the job')
      assert.deepEqual(started, { event: 'started', jobId: id, attemptsMade: 0 }, 'the child runs the first attempt')

      // The child's process stops with the handler mid-run: its lease lapses, the other
      // instance's stall checker puts the job back and its worker completes it.
      stale.proc.kill('SIGSTOP')
      const runs = []
      let job
      try {
        await other.registerWorker(q, 'work', async (j) => {
          runs.push({ id: j.id, attemptsMade: j.attemptsMade })
          return 'from-the-other-instance'
        }, lease)
        job = await until(`job ${id} completed by the other instance while the child is stopped`, async () => {
          job = await other.getJob(q, id)
          return job && job.state === 'completed' && job
        }, { timeoutMs: 20000, detail: () => JSON.stringify(job) })
      } finally {
        stale.proc.kill('SIGCONT')
      }
      assert.equal(job.returnvalue, 'from-the-other-instance', 'the rerun on the other instance completed the job')
      assert.deepEqual(runs, [{ id, attemptsMade: 1 }], 'the other instance ran the job once, as its second attempt')
      await waitFor(() => stalled.some((p) => p && p.jobId === id), { what: `a stalled event for job ${id}` })

      // Now the stale handler goes on: its lease is gone, so it may change nothing.
      await stale.call('release')
      const returning = await stale.until('returning', 'the stale handler to return')
      assert.equal(returning.progress.code, 'NVENT_LOCK_LOST', `ctx.updateProgress after the lease was lost rejects with NVENT_LOCK_LOST: ${JSON.stringify(returning.progress)}`)
      // Wait for the refusal on the child's bus, or stop early if the stale completion landed.
      let final
      const refusal = () => stale.events.find((e) => e.event === 'bus' && e.data.code === 'NVENT_LOCK_LOST')
      const landed = (j) => j.state !== 'completed' || j.returnvalue !== 'from-the-other-instance'
      await until("nvent.error NVENT_LOCK_LOST on the stopped worker's bus", async () => {
        alive([stale])
        final = await other.getJob(q, id)
        return refusal() || landed(final)
      }, { timeoutMs: 20000, detail: () => `job ${JSON.stringify(final)}, child events ${JSON.stringify(stale.events)}` })
      // The report may come from the lease renewal, before the completion is even tried: give
      // the stale completion the time to land before looking at the job.
      if (!landed(final)) await settle(500)
      final = await other.getJob(q, id)
      assert.equal(final.state, 'completed', 'the refused completion left the job completed')
      assert.equal(final.returnvalue, 'from-the-other-instance', "the stale completion was refused: the returnvalue is the rerun's")
      assert.equal(final.attemptsMade, 2, 'two attempts started: the stale one and the rerun')
      assert.notEqual(final.progress, 50, "the stale worker's updateProgress left no trace")
      const refused = refusal()
      assert.ok(refused, `the refused completion is reported on the child's bus; it saw ${JSON.stringify(stale.events)}`)
      assert.equal(refused.data.source, 'queue', `the lost lease is reported by the queue: ${JSON.stringify(refused.data)}`)
      assert.ok(String(refused.data.message).includes(id), `the NVENT_LOCK_LOST message names job ${id}: ${refused.data.message}`)
      assertCounts(await other.getJobCounts(q), { ...IDLE, completed: 1, failed: 0 }, 'one completed job, nothing else')
      assert.equal(runs.length, 1, 'the refused completion did not make the job run again')
      assert.equal(completed.filter((p) => p && p.jobId === id).length, 1, `one completed event for job ${id}: ${JSON.stringify(completed)}`)
      await stopAll([stale])
    } finally {
      await stale.kill()
      await other.close()
    }
  })

  test('Redis restarted mid-run (appendonly, fsync always): all 500 jobs complete, workers resume by themselves', async () => {
    const TOTAL = 500
    const CONCURRENCY = 4
    const server = await startRedis({ appendonly: true, extra: ['--appendfsync', 'always'] })
    servers.add(server)
    const prefix = unique('rq-restart')
    const q = unique('restart')
    const connection = { ...server.connection, connectTimeout: 2000, commandTimeout: 2000 }
    const admin = adapter({ connection, prefix })
    const worker = adapter({ connection, prefix })
    try {
      // Two jobs are held mid-run across the restart; their first runs finish only after it.
      const HELD = new Set([100, 101])
      const hold = gate()
      const runs = new Map()
      let restarted = false
      let heldRunning = 0
      let finished = 0
      let startedAfterRestart = 0
      await worker.registerWorker(q, 'work', async (job) => {
        const { n } = job.data
        if (restarted) startedAfterRestart++
        if (HELD.has(n) && job.attemptsMade === 0) {
          heldRunning++
          await hold.promise
        } else await sleep(1 + Math.floor(Math.random() * 5))
        runs.set(n, (runs.get(n) ?? 0) + 1)
        finished++
        return n
      }, { concurrency: CONCURRENCY, lockDuration: 2000, stalledInterval: 500, maxStalledCount: 20 })
      const ids = await admin.enqueueBulk(q, Array.from({ length: TOTAL }, (_, n) => ({ name: 'work', data: { n } })))
      await until('both held jobs in flight and 50 runs finished', () => heldRunning === HELD.size && finished >= 50, {
        detail: () => `${heldRunning} held, ${finished} finished`,
      })
      const before = finished
      await server.restart()
      restarted = true
      hold.open()

      let counts
      await until(`all ${TOTAL} jobs completed after the restart`, async () => {
        try {
          counts = await admin.getJobCounts(q)
        } catch (e) {
          if (e.code !== 'NVENT_BACKEND_UNAVAILABLE') throw e
          return false
        }
        return counts.completed === TOTAL
      }, { timeoutMs: 60000, intervalMs: 100, detail: () => `${JSON.stringify(counts)}, ${finished} runs finished` })
      assertCounts(counts, { ...IDLE, completed: TOTAL, failed: 0 }, 'every job completed, none failed')
      // Registered once, before the restart: runs after it mean the worker resumed by itself.
      assert.ok(startedAfterRestart > 0, `the worker took jobs after the restart by itself (${before} runs had finished before it)`)
      const notRun = []
      const twice = []
      for (let n = 0; n < TOTAL; n++) {
        const r = runs.get(n) ?? 0
        if (r === 0) notRun.push(n)
        if (r > 1) twice.push(n)
      }
      assert.deepEqual(notRun, [], 'every job ran to its end')
      // Only a job held by the worker when Redis went down can run twice (at most `concurrency`).
      assert.ok(twice.length <= CONCURRENCY, `${twice.length} jobs ran twice (n = ${twice.join(', ')}); at most ${CONCURRENCY} were in flight at the restart`)
      const wrong = (await jobsOf(admin, q, ids)).filter((j, n) => !j || j.state !== 'completed' || j.returnvalue !== n)
      assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} jobs not completed with their own returnvalue`)
    } finally {
      await worker.close()
      await admin.close()
      await server.close()
    }
  })

  test('a delayed job that falls due reaches an idle worker without a take of its own', async () => {
    const TAKE = queueScriptSha('takeJobs-12.lua')
    const PROMOTE = queueScriptSha('promoteDelayed-12.lua')
    const FINISH = queueScriptSha('finishJobs-12.lua')
    const q = unique('handover')
    const base = `ho:queue:{${q}}:`
    const worker = adapter({ connection: jobs.connection, prefix: 'ho' })
    const producer = adapter({ connection: jobs.connection, prefix: 'ho' })
    let started
    const ran = new Promise((r) => (started = r))
    await worker.registerWorker(q, 'job', async () => started(), { concurrency: 1 })
    await until('the worker to register as idle', async () => (await jobs.cmd('ZCARD', `${base}idle`)) === 1)
    const mon = monitor(jobs.port)
    await mon.ready
    // Scripts run on this queue's keys only: adapters of earlier tests share the server.
    const scriptsRun = () => scriptsOn(mon, base)
    let scripts
    try {
      const id = await producer.enqueue(q, { name: 'job', data: 1, opts: { delay: 150 } })
      await withTimeout(ran, 10000, 'the delayed job to start')
      await until('the job to complete', async () => (await worker.getJob(q, id))?.state === 'completed')
      // MONITOR's stream may lag behind the replies: wait until it shows the finish.
      await until('MONITOR to show the promote script, then the finish', () => {
        scripts = scriptsRun()
        const promoted = scripts.indexOf(PROMOTE)
        return promoted >= 0 && scripts.indexOf(FINISH, promoted) > promoted
      }, { timeoutMs: 10000, detail: () => `${scripts.length} scripts run` })
    } finally {
      mon.stop()
    }
    const promoted = scripts.indexOf(PROMOTE)
    const finished = scripts.indexOf(FINISH, promoted)
    // From the promotion to the job's completion no take ran: the promote script handed
    // the job to the idle worker.
    assert.equal(scripts.slice(promoted, finished).filter((s) => s === TAKE).length, 0)
  })

  test('a job added while its worker is idle starts without a take: the add script hands it over', async () => {
    const TAKE = queueScriptSha('takeJobs-12.lua')
    const FINISH = queueScriptSha('finishJobs-12.lua')
    const LONE = queueScriptSha('addJob-12.lua')
    const MANY = queueScriptSha('addJobs-12.lua')
    const q = unique('direct')
    const base = `dh:queue:{${q}}:`
    const worker = adapter({ connection: jobs.connection, prefix: 'dh' })
    const producer = adapter({ connection: jobs.connection, prefix: 'dh' })
    const seen = []
    let started
    await worker.registerWorker(q, 'job', async (job) => (seen.push(job), started()), { concurrency: 1 })
    // The worker's own adapter gets the job in the add's reply, another one by message; a
    // job without options has a script of its own.
    const cases = [
      { from: producer, opts: undefined, script: LONE },
      { from: worker, opts: undefined, script: LONE },
      { from: producer, opts: { attempts: 2 }, script: MANY },
      { from: worker, opts: { attempts: 2 }, script: MANY },
    ]
    for (const [i, c] of cases.entries()) {
      await until('the worker to register as idle', async () => (await jobs.cmd('ZCARD', `${base}idle`)) === 1)
      const mon = monitor(jobs.port)
      await mon.ready
      const ran = new Promise((r) => (started = r))
      let scripts
      try {
        const id = await c.from.enqueue(q, { name: 'job', data: i, opts: c.opts })
        await withTimeout(ran, 10000, `job ${i} to start`)
        await until(`job ${i} to complete`, async () => (await worker.getJob(q, id))?.state === 'completed')
        await until(`MONITOR to show job ${i}'s add, then its finish`, () => {
          scripts = scriptsOn(mon, base)
          return scripts.includes(c.script) && scripts.indexOf(FINISH, scripts.indexOf(c.script)) > 0
        }, { timeoutMs: 10000, detail: () => `${scripts.length} scripts run` })
        const job = await worker.getJob(q, id)
        assert.equal(job.attemptsMade, 1, `job ${i}`)
        assert.equal(seen.at(-1).id, id)
        assert.equal(seen.at(-1).data, i)
        assert.equal(seen.at(-1).attemptsMade, 0)
      } finally {
        mon.stop()
      }
      const added = scripts.indexOf(c.script)
      const between = scripts.slice(added, scripts.indexOf(FINISH, added))
      assert.deepEqual(between.filter((s) => s === TAKE), [], `case ${i}: a take ran between the add and the finish`)
    }
    const counts = await worker.getJobCounts(q)
    assert.equal(counts.completed, cases.length)
    assert.equal(counts.active + counts.waiting, 0)
  })

  test('adds of one turn while a worker here is idle: the first goes at once, the rest in one batch, in order', async () => {
    const LONE = queueScriptSha('addJob-12.lua')
    const MANY = queueScriptSha('addJobs-12.lua')
    const q = unique('turn')
    const base = `tu:queue:{${q}}:`
    const a = adapter({ connection: jobs.connection, prefix: 'tu' })
    const order = []
    let all
    const done = new Promise((r) => (all = r))
    await a.registerWorker(q, 'job', async (job) => {
      order.push(job.data)
      if (order.length === 30) all()
    }, { concurrency: 1 })
    await until('the worker to register as idle', async () => (await jobs.cmd('ZCARD', `${base}idle`)) === 1)
    const mon = monitor(jobs.port)
    await mon.ready
    let ids
    try {
      ids = await Promise.all(Array.from({ length: 30 }, (_, i) => a.enqueue(q, { name: 'job', data: i })))
      await withTimeout(done, 10000, 'all 30 jobs to run')
    } finally {
      await new Promise((r) => setTimeout(r, 100))
      mon.stop()
    }
    assert.deepEqual(order, Array.from({ length: 30 }, (_, i) => i))
    assert.deepEqual(ids.map(Number), ids.map((_, i) => Number(ids[0]) + i))
    const adds = scriptsOn(mon, base).filter((sha) => sha === LONE || sha === MANY)
    // (A script the server did not have yet shows twice: the NOSCRIPT attempt, then the run.)
    assert.deepEqual([...new Set(adds)], [LONE, MANY])
  })

  test('a bulk add hands its first job to this idle worker; the wake for the rest never overtakes it (JS thread slow to read the reply)', async () => {
    // The add script takes the first job for this instance's idle worker (in its reply) and
    // publishes a wake for the job left waiting. The wake comes on the pub/sub connection,
    // read on the runtime; the reply on the event-loop connection, read by the JS thread.
    // A busy JS thread lets the wake arrive first: it found the worker "idle" and took the
    // second job into the slot the first job holds, so the second started first (the
    // redis-layout flake: '3' !== '2').
    const q = unique('overtake')
    const base = `ot:queue:{${q}}:`
    const a = adapter({ connection: jobs.connection, prefix: 'ot' })
    const started = []
    let hold = gate()
    await a.registerWorker(q, 'job', async (job) => {
      started.push(job.data)
      await hold.promise
    }, { concurrency: 1 })
    for (let round = 0; round < 3; round++) {
      const at = started.length
      await until('the worker to register as idle', async () => (await jobs.cmd('ZCARD', `${base}idle`)) === 1)
      // Warm: the event-loop connection carries the add (the reply is then read by this thread).
      await a.getJob(q, 'warm')
      const ids = a.enqueueBulk(q, [{ name: 'job', data: `${round}:first` }, { name: 'job', data: `${round}:second` }])
      const busyUntil = Date.now() + 400
      while (Date.now() < busyUntil) {} // the JS thread reads nothing meanwhile
      await ids
      await until(`round ${round}: a job to start`, () => started.length > at)
      assert.equal(started[at], `${round}:first`, `round ${round}: started ${started.slice(at)}`)
      hold.open()
      await until(`round ${round}: the second job`, () => started.length === at + 2)
      assert.deepEqual(started.slice(at), [`${round}:first`, `${round}:second`])
      const finish = hold
      hold = gate()
      finish.open()
      await until(`round ${round}: both complete`, async () => (await a.getJobCounts(q)).completed === (round + 1) * 2)
    }
  })

  test('jobs a closing worker took but never started wait again at the head, in order', async () => {
    const q = unique('release')
    const producer = adapter({ connection: jobs.connection, prefix: 'rl' })
    await producer.enqueueBulk(q, Array.from({ length: 6 }, (_, i) => ({ name: 'job', data: i })))
    const first = adapter({ connection: jobs.connection, prefix: 'rl' })
    let release
    const gate = new Promise((r) => (release = r))
    let started
    const running = new Promise((r) => (started = r))
    await first.registerWorker(q, 'job', async (job) => {
      started()
      await gate
    }, { concurrency: 1 })
    await withTimeout(running, 10000, 'the first job to start')
    // Closing waits for the running job; its completion takes the next job ahead (complete
    // and take in one call), which the closing worker never starts and gives back.
    const closed = first.close()
    release()
    await closed
    const order = []
    let all
    const rest = new Promise((r) => (all = r))
    const second = adapter({ connection: jobs.connection, prefix: 'rl' })
    await second.registerWorker(q, 'job', async (job) => {
      order.push(job.data)
      if (order.length === 5) all()
    }, { concurrency: 1 })
    await withTimeout(rest, 10000, 'the other five jobs to run')
    assert.deepEqual(order, [1, 2, 3, 4, 5])
    const counts = await second.getJobCounts(q)
    assert.equal(counts.completed, 6)
    const jobsDone = await second.getJobs(q, { state: ['completed'] })
    for (const j of jobsDone) assert.equal(j.attemptsMade, 1, `job ${j.data}`)
  })

  test('a delayed job and a cron schedule with repeat.limit 3 fire once across three instances', async () => {
    const prefix = unique('rq-timed')
    const q = unique('timed')
    const key = unique('ledger:timed')
    const config = {
      connection: jobs.connection, prefix, queue: q, jobName: 'work', mode: 'ledger', ledger: { port: ledger.port, key },
      worker: { concurrency: 2, lockDuration: 5000, stalledInterval: 1000 },
    }
    const kids = [startWorker(config), startWorker(config), startWorker(config)]
    const admin = adapter({ connection: jobs.connection, prefix })
    try {
      await Promise.all(kids.map((w) => w.ready))
      const delayedId = await admin.schedule(q, { name: 'work', data: { n: 'delayed' } }, { delay: 800 })
      const cronId = await admin.schedule(q, { name: 'work', data: { n: 'cron' } }, { cron: '*/1 * * * * *', repeat: { limit: 3 } })
      assert.equal(typeof delayedId, 'string', 'schedule with a delay returns a job id')
      assert.equal(typeof cronId, 'string', 'schedule with cron returns a schedule id')

      let entries = []
      const done = (n) => entries.filter((e) => e.kind === 'done' && e.n === n).length
      await until('the delayed job and three cron fires to run', async () => {
        alive(kids)
        entries = await ledgerOf(ledger.port, key)
        return done('delayed') >= 1 && done('cron') >= 3
      }, { timeoutMs: 20000, intervalMs: 100, detail: () => entries.map((e) => e.entry).join(' ') })
      // Give a fourth fire, or a second run of the delayed job, the time to show up.
      await settle(2500)
      alive(kids)
      entries = await ledgerOf(ledger.port, key)
      const runs = (n) => entries.filter((e) => e.kind === 'start' && e.n === n)
      const listing = entries.map((e) => e.entry).join(' ')
      assert.equal(runs('delayed').length, 1, `the delayed job ran once across three instances: ${listing}`)
      assert.equal(runs('delayed')[0].jobId, delayedId, 'the delayed run is the job schedule returned')
      assert.equal(runs('cron').length, 3, `repeat.limit 3 gives exactly 3 runs across three instances: ${listing}`)
      assert.equal(new Set(runs('cron').map((e) => e.jobId)).size, 3, `each cron fire is its own job, run once: ${listing}`)
      assert.equal(done('cron'), 3, 'every cron run finished')
      assert.deepEqual(
        entries.filter((e) => !['delayed', 'cron'].includes(e.n)).map((e) => e.entry),
        [],
        'no other job ran',
      )
      const delayed = await admin.getJob(q, delayedId)
      assert.equal(delayed.state, 'completed', 'the delayed job completed')
      assertCounts(await admin.getJobCounts(q), { ...IDLE, completed: 4, failed: 0 }, 'four completed jobs; no fire left pending')
      assert.deepEqual(await admin.getScheduledJobs(q), [], 'the schedule is gone once its limit is reached')
      assert.deepEqual(await errorsOf(ledger.port, key), [], 'no worker reported an nvent.error')
      await stopAll(kids)
    } finally {
      await Promise.all(kids.map((w) => w.kill()))
      await admin.close()
    }
  })

  test('pause on one instance holds the workers of every process; resume runs the jobs', async () => {
    const TOTAL = 20
    const prefix = unique('rq-pause')
    const q = unique('pause')
    const key = unique('ledger:pause')
    const config = {
      connection: jobs.connection, prefix, queue: q, jobName: 'work', mode: 'ledger', ledger: { port: ledger.port, key },
      worker: { concurrency: 2 },
    }
    const kids = [startWorker(config), startWorker(config)]
    const admin = adapter({ connection: jobs.connection, prefix })
    try {
      await Promise.all(kids.map((w) => w.ready))
      await admin.pause(q)
      assert.equal(await admin.isPaused(q), true, 'isPaused on the instance that paused')
      const ids = await admin.enqueueBulk(q, Array.from({ length: TOTAL }, (_, n) => ({ name: 'work', data: { n } })))
      // "Nothing runs" can only be watched for a while: give the workers a second to misbehave.
      await settle(1000)
      alive(kids)
      assert.deepEqual((await ledgerOf(ledger.port, key)).map((e) => e.entry), [], 'no job ran while the queue was paused')
      assertCounts(await admin.getJobCounts(q), { waiting: 0, active: 0, delayed: 0, paused: TOTAL, completed: 0, failed: 0 }, 'all jobs paused')
      assert.equal((await admin.getJob(q, ids[0])).state, 'paused', 'a waiting job of a paused queue reports state paused')
      for (const w of kids) assert.equal(await w.call('isPaused', { queue: q }), true, `isPaused in worker process ${w.pid}`)

      await admin.resume(q)
      let entries = []
      await until(`all ${TOTAL} jobs run after resume`, async () => {
        alive(kids)
        entries = await ledgerOf(ledger.port, key)
        return entries.filter((e) => e.kind === 'done').length >= TOTAL
      }, { timeoutMs: 20000, intervalMs: 50, detail: () => `${entries.length} ledger records` })
      let counts
      await until('getJobCounts to show all completed', async () => {
        counts = await admin.getJobCounts(q)
        return counts.completed === TOTAL
      }, { detail: () => JSON.stringify(counts) })
      assertCounts(counts, { ...IDLE, completed: TOTAL, failed: 0 }, 'every job completed after resume')
      entries = await ledgerOf(ledger.port, key)
      const starts = entries.filter((e) => e.kind === 'start').map((e) => Number(e.n)).sort((a, b) => a - b)
      assert.deepEqual(starts, Array.from({ length: TOTAL }, (_, n) => n), 'with no fault every job runs exactly once')
      for (const w of kids) assert.equal(await w.call('isPaused', { queue: q }), false, `isPaused after resume in worker process ${w.pid}`)
      assert.deepEqual(await errorsOf(ledger.port, key), [], 'no worker reported an nvent.error')
      await stopAll(kids)
    } finally {
      await Promise.all(kids.map((w) => w.kill()))
      await admin.close()
    }
  })
  test('a stored schedule that cannot be read is dropped; the queue keeps working', async () => {
    const q = unique('broken-sched')
    const prefix = unique('bs')
    const base = `${prefix}:queue:{${q}}:`
    // A schedule written by something else (or an older layout), due now.
    await command(jobs.port, ['HSET', `${base}sched`, '7', '{"name":"x","opts":{"attempts":"many"}}', '7:n', '0'])
    await command(jobs.port, ['ZADD', `${base}schedNext`, String(Date.now() - 1000), '7'])
    const a = adapter({ connection: jobs.connection, prefix })
    try {
      await a.registerWorker(q, 'job', (job) => job.data.n * 2)
      await until('the broken schedule to be dropped', async () =>
        (await command(jobs.port, ['ZCARD', `${base}schedNext`])) === 0)
      assert.equal(await command(jobs.port, ['HLEN', `${base}sched`]), 0, 'its spec and fire count are gone')
      assert.deepEqual(await a.getScheduledJobs(q), [])
      const id = await a.enqueue(q, { name: 'job', data: { n: 21 } })
      await until('a job after it to complete', async () => (await a.getJob(q, id))?.state === 'completed')
      assert.equal((await a.getJob(q, id)).returnvalue, 42)
    } finally {
      await a.close()
    }
  })
})
