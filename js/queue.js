'use strict'
// QueueAdapter (SPEC §5) over the engine, and the worker runner.
//
// The engine owns job state and scheduling; the runner here only runs handlers. When the
// engine signals that a queue has work, the runner takes a batch (as many jobs as the
// engine's free slots allow), calls the handlers, and reports all results that settled in
// the same microtask round in one `finish` call, which frees slots for the next batch.
// While the engine reports outstanding work, a ref'd timer keeps the process alive; when
// it reports none, the process may exit without `close()`.

const native = require('./native')
const { outbox, register, unregister } = require('./outbox')
const { encode, encodeOptions, name, optionsText, limitsOf } = require('./codec')
const { settle, whenDone } = require('./settle')
const { NventError, fromNative, describeThrown } = require('./errors')
const { isolate, callUser, requireFunction } = require('./isolate')

const parse = (t) => JSON.parse(t)
// The native bulk enqueue takes and returns lists joined by NUL, which no valid name and no
// JSON text contains: one string crosses the boundary per list instead of one per job.
const SEP = '\u0000'
const splitIds = (t) => (t === '' ? [] : t.split(SEP))
const parseNullable = (t) => (t === null || t === undefined ? null : JSON.parse(t))
const DEFAULT_CLOSE_TIMEOUT = 10_000
// How long a runner may take, finish and take again without returning to the event loop.
const SLICE_MS = 10
// Errors of the checks a job passes before anything is stored.
const CHECK_CODES = new Set([
  'NVENT_INVALID_NAME',
  'NVENT_INVALID_ARGUMENT',
  'NVENT_NOT_SERIALIZABLE',
  'NVENT_CIRCULAR',
  'NVENT_PAYLOAD_TOO_LARGE',
  'NVENT_NESTING_TOO_DEEP',
])

function jobParts(job, lim) {
  if (job === null || typeof job !== 'object') {
    throw new NventError('NVENT_INVALID_ARGUMENT', 'a job must be an object { name, data, opts? }')
  }
  if (typeof job.name !== 'string') {
    throw new NventError('NVENT_INVALID_ARGUMENT', 'a job needs a string name')
  }
  if (job.opts && typeof job.opts === 'object' && typeof job.opts.jobId === 'string') {
    if (job.opts.jobId === '') throw new NventError('NVENT_INVALID_NAME', 'invalid jobId: must not be empty')
    name('jobId', job.opts.jobId)
  }
  // The engine refuses NUL in names too; checked here because bulk enqueues join names
  // with NUL, where one would split into two.
  if (job.name.includes(SEP)) throw new NventError('NVENT_INVALID_NAME', 'invalid job name: must not contain NUL')
  const data = encode(job.data === undefined ? null : job.data, lim)
  const opts = encodeOptions(job.opts, 'job options', lim)
  return [name('job name', job.name), data, opts]
}

/** A failed attempt's `failedReason`: what the thrown value says (js/errors.js). */
function reasonOf(e) {
  return describeThrown(e).message
}

/** The `ctx` a handler receives (SPEC §5). Methods on the prototype: no closures per job. */
/** Pause before a worker takes again after a failed take (see Runner.retryTake). */
const TAKE_RETRY_MS = 250

class JobContext {
  // Private fields: the adapter and the attempt's token stay out of the handler's view
  // (and cost far less per job than non-enumerable properties).
  #adapter
  #token
  constructor(adapter, queueName, jobId, token) {
    this.jobId = jobId
    this.queueName = queueName
    this.#adapter = adapter
    this.#token = token
  }
  updateProgress(progress) {
    const a = this.#adapter
    return settle(() => a._n.updateProgress(this.queueName, this.jobId, this.#token, encode(progress, a._lim))).then(
      () => undefined,
    )
  }
  log(message) {
    return settle(() => this.#adapter._n.log(this.queueName, this.jobId, this.#token, String(message))).then(
      () => undefined,
    )
  }
}

/** Runs the handlers of one queue. */
class Runner {
  constructor(adapter, queue) {
    this.adapter = adapter
    this.queue = queue
    this.handlers = new Map()
    this.concurrency = 1
    this.running = 0
    this.idle = []
    this.results = []
    // Whether the results gathered for the next finish include a failed attempt, and
    // whether a take waits for the next turn of the event loop (see afterFinish).
    this.failedSince = false
    this.deferred = false
    // When this runner's current chain of finishes and takes began (0: none open).
    this.sliceStart = 0
    // Finish calls in flight, and what waits for them (close()).
    this.finishing = 0
    this.finished = []
    this.flushing = false
    this.taking = false
    this.again = false
    this.closing = false
  }

  pump() {
    if (this.closing) return
    if (this.taking) {
      this.again = true
      return
    }
    this.taking = true
    let r
    try {
      r = native.queueTake(this.adapter._h, this.queue, this.concurrency)
    } catch (e) {
      this.taking = false
      return this.adapter._fail('take', e)
    }
    whenDone(r, (t) => this.accept(t), (e) => {
      this.taking = false
      this.adapter._fail('take', e)
      this.retryTake(e)
    })
  }

  /**
   * After a take failed (Redis unreachable, a dead connection being replaced): take again
   * after a pause. The failed take did not register this worker as idle, and a wake-up
   * that came while it was in flight was spent on it, so without this a job added
   * meanwhile would wait for the next add. The timer is unreferenced: it never keeps the
   * process alive.
   */
  retryTake(e) {
    if (this.closing || this.retryTimer || (e && e.code === 'NVENT_CLOSED')) return
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      this.pump()
    }, TAKE_RETRY_MS)
    this.retryTimer.unref?.()
  }

  /**
   * The engine says the queue has work. While a take waits for the next turn (see
   * afterFinish) the wake-up is left to it: a retry's own wake-up must not start it sooner
   * (Node delivers up to 1,000 queued wake-ups in one go, which chained 1,000 attempts
   * without a turn of the loop).
   */
  wake() {
    if (!this.deferred) this.pump()
  }

  accept(text) {
    this.taking = false
    this.deliver(JSON.parse(text))
  }

  /**
   * Starts the jobs of a take's result, or of jobs the engine handed over with a signal
   * (Redis: a job added while this worker was idle), then asks for more while slots are
   * free.
   */
  deliver({ pending, jobs }) {
    // Jobs come flat, six values each: id, name, data, attemptsMade, token, opts.
    this.adapter._setPending(pending)
    for (let i = 0; i < jobs.length; i += 6) {
      this.run(jobs[i], jobs[i + 1], jobs[i + 2], jobs[i + 3], jobs[i + 4], jobs[i + 5])
    }
    // A backend may hand out less than the free slots per take (Redis: half the
    // concurrency, so that fetching overlaps running); ask again until a take comes back
    // empty.
    if (this.again || (jobs.length > 0 && this.running < this.concurrency)) {
      this.again = false
      this.pump()
    }
  }

  run(id, jobName, data, attemptsMade, token, opts) {
    const job = { id, name: jobName, data, attemptsMade, opts, queueName: this.queue }
    const handler = this.handlers.get(jobName)
    this.running++
    // A handler may throw or reject with anything, or return a thenable whose `then`
    // throws: each fails this attempt only (js/isolate.js callUser).
    callUser(
      handler,
      job,
      new JobContext(this.adapter, this.queue, id, token),
      (v) => this.done(id, token, v, true),
      (e) => this.done(id, token, reasonOf(e), false),
    )
  }

  /** Resolves when no handler of this queue is running. */
  whenIdle() {
    if (this.running === 0) return Promise.resolve()
    return new Promise((resolve) => this.idle.push(resolve))
  }

  done(id, token, v, ok) {
    this.running--
    let entry
    if (ok) {
      try {
        const text = v === undefined || v === null ? 'null' : encode(v, this.adapter._lim)
        entry = `[${JSON.stringify(id)},${token},1,${text}]`
      } catch (e) {
        entry = `[${JSON.stringify(id)},${token},0,${JSON.stringify('return value: ' + reasonOf(e))}]`
      }
    } else entry = `[${JSON.stringify(id)},${token},0,${JSON.stringify(v)}]`
    if (!ok) this.failedSince = true
    this.results.push(entry)
    if (this.running === 0 && this.idle.length > 0) for (const resolve of this.idle.splice(0)) resolve()
    if (!this.flushing) {
      this.flushing = true
      queueMicrotask(() => this.flush())
    }
  }

  flush() {
    this.flushing = false
    if (this.results.length === 0) return
    const text = '[' + this.results.join(',') + ']'
    this.results = []
    const failed = this.failedSince
    this.failedSince = false
    let r
    try {
      r = native.queueFinish(this.adapter._h, this.queue, text)
    } catch (e) {
      return this.adapter._fail('finish', e)
    }
    this.finishing++
    const settled = () => {
      if (--this.finishing === 0 && this.finished.length > 0) for (const resolve of this.finished.splice(0)) resolve()
    }
    const after = (pending) => {
      settled()
      this.adapter._setPending(pending)
      this.afterFinish(failed)
    }
    whenDone(r, after, (e) => (settled(), this.adapter._fail('finish', e)))
  }

  /**
   * Takes the next jobs after a finish. On memory and file a finish and a take complete on
   * this thread, so take → handler → finish → take can chain through microtasks without
   * ever returning to the event loop. A retry must never run inside the settlement of the
   * attempt before it (an always-failing job with `attempts: 1e9` and no backoff froze the
   * process), and no chain may hold the loop for long: after a finish that failed an
   * attempt, or once this chain has run for SLICE_MS, the take waits for the next turn
   * (setImmediate), where timers and I/O run first.
   */
  afterFinish(failed) {
    if (this.deferred) return
    if (!failed && !this.sliceSpent()) return this.pump()
    this.deferred = true
    setImmediate(() => {
      this.deferred = false
      this.pump()
    })
  }

  /** Whether this chain has held the loop for SLICE_MS; a chain's slice opens at its first
   * finish and closes when the loop next turns. */
  sliceSpent() {
    if (this.sliceStart === 0) {
      this.sliceStart = performance.now()
      setImmediate(() => (this.sliceStart = 0))
      return false
    }
    return performance.now() - this.sliceStart >= SLICE_MS
  }

  /** Resolves when no finish call of this queue is in flight. */
  whenFinished() {
    if (this.finishing === 0) return Promise.resolve()
    return new Promise((resolve) => this.finished.push(resolve))
  }
}

class QueueView {
  /**
   * `make(signals)` builds the native queue, given the outbox target of this adapter's
   * wake-ups and events.
   */
  constructor(make, options) {
    // Before anything is made: a bad `values` option leaves nothing behind.
    const lim = limitsOf(options)
    const signals = register((sig) => this._onSignal(sig))
    let n
    try {
      n = make(signals)
    } catch (e) {
      unregister(signals)
      throw fromNative(e)
    }
    this._signals = signals
    this._n = n
    this._h = n.handle()
    this._lim = lim
    this._runners = new Map()
    this._listeners = new Map()
    this._closed = false
    this._closing = null
    this._closeTimeout = (options && options.closeTimeout) ?? DEFAULT_CLOSE_TIMEOUT
    this._keepalive = null
    this._batchAdds = false
    this._adds = new Map()
  }

  _onSignal(sig) {
    if (sig.k === 'wake') {
      const runner = this._runners.get(sig.q)
      if (runner) runner.wake()
    } else if (sig.k === 'jobs') {
      const runner = this._runners.get(sig.q)
      if (runner) runner.deliver(sig)
    } else if (sig.k === 'event') {
      const set = this._listeners.get(sig.q + '\u0000' + sig.e)
      if (set) for (const cb of set) cb(sig.p)
    } else if (sig.k === 'lost') {
      // Lease backends: results of attempts whose lease was lost were refused.
      for (const id of sig.ids) {
        require('./isolate').report(
          'queue',
          new NventError(
            'NVENT_LOCK_LOST',
            `job ${id} of queue ${sig.q}: the worker lost its lease, so its result was refused (the job runs again or already ran elsewhere)`,
          ),
        )
      }
    }
  }

  _setPending(n) {
    if (n > 0 && !this._closed) {
      if (!this._keepalive) this._keepalive = setInterval(() => {}, 1 << 30)
      else this._keepalive.ref()
    } else if (this._keepalive) this._keepalive.unref()
  }

  _fail(what, e) {
    require('./isolate').report('queue', fromNative(e))
  }

  async init() {}

  enqueue(queue, job) {
    if (this._batchAdds) {
      // While a worker of this queue here has a free slot, the first add of a turn goes
      // at once: its pickup waits for nothing else in the turn. Later ones of the turn
      // are batched as usual (the empty batch marks the turn).
      const runner = this._runners.get(queue)
      if (runner === undefined || runner.running >= runner.concurrency || this._adds.has(queue)) {
        return this._enqueueBatched(queue, job)
      }
      this._adds.set(queue, [])
      queueMicrotask(() => this._flushAdds(queue))
    }
    return settle(() => {
      const [jobName, data, opts] = jobParts(job, this._lim)
      const id = native.queueEnqueue(this._h, name('queue name', queue), jobName, data, opts)
      if (this._runners.has(queue)) this._setPending(1)
      return id
    })
  }

  /**
   * Backends where each call is a round trip (Redis): the enqueues of one queue made in
   * the same JS turn go out as one bulk call at the end of it (one script run), each
   * caller still getting its own id or error.
   */
  _enqueueBatched(queue, job) {
    return new Promise((resolve, reject) => {
      let q
      let parts
      try {
        q = name('queue name', queue)
        parts = jobParts(job, this._lim)
      } catch (e) {
        return reject(fromNative(e))
      }
      let batch = this._adds.get(q)
      if (!batch) {
        batch = []
        this._adds.set(q, batch)
        queueMicrotask(() => this._flushAdds(q))
      }
      batch.push({ parts, resolve, reject })
    })
  }

  _flushAdds(q) {
    const batch = this._adds.get(q)
    this._adds.delete(q)
    if (batch.length === 0) return
    const one = (b) =>
      settle(() => native.queueEnqueue(this._h, q, b.parts[0], b.parts[1], b.parts[2])).then(b.resolve, b.reject)
    if (this._runners.has(q)) this._setPending(1)
    if (batch.length === 1) return one(batch[0])
    const names = batch.map((b) => b.parts[0]).join(SEP)
    const datas = batch.map((b) => b.parts[1]).join(SEP)
    const opts = batch.map((b) => b.parts[2] || '').join(SEP)
    settle(() => native.queueEnqueueBulk(this._h, q, batch.length, names, datas, opts), splitIds).then(
      (ids) => batch.forEach((b, i) => b.resolve(ids[i])),
      (e) => {
        // Checks run before anything is sent: one bad job must fail only its own call.
        if (CHECK_CODES.has(e.code)) batch.forEach(one)
        else batch.forEach((b) => b.reject(e))
      },
    )
  }

  enqueueBulk(queue, jobs) {
    return settle(() => {
      if (!Array.isArray(jobs)) throw new NventError('NVENT_INVALID_ARGUMENT', 'enqueueBulk takes an array of jobs')
      let names = ''
      let datas = ''
      let opts = ''
      for (let i = 0; i < jobs.length; i++) {
        const parts = jobParts(jobs[i], this._lim)
        const sep = i === 0 ? '' : SEP
        names += sep + parts[0]
        datas += sep + parts[1]
        opts += sep + (parts[2] || '')
      }
      const ids = native.queueEnqueueBulk(this._h, name('queue name', queue), jobs.length, names, datas, opts)
      if (this._runners.has(queue) && jobs.length > 0) this._setPending(1)
      return ids
    }, splitIds)
  }

  schedule(queue, job, spec) {
    return settle(() => {
      const [jobName, data, opts] = jobParts(job, this._lim)
      const specText = encodeOptions(spec, 'schedule options', this._lim)
      return this._n.schedule(name('queue name', queue), jobName, data, opts, specText)
    })
  }

  getJob(queue, id) {
    return settle(() => native.queueGetJob(this._h, name('queue name', queue), name('job id', id)), parseNullable)
  }

  getJobs(queue, options) {
    return settle(() => {
      const o = encodeOptions(options, 'getJobs options', this._lim)
      return this._n.getJobs(name('queue name', queue), o)
    }, parse)
  }

  getJobCounts(queue) {
    return settle(() => this._n.getJobCounts(name('queue name', queue)), parse)
  }

  /** Listens to `event` of `queue`; returns the unsubscribe function (SPEC §5). */
  on(queue, event, cb) {
    requireFunction('callback', cb)
    if (this._closed) throw new NventError('NVENT_CLOSED', 'the queue adapter is closed')
    const key = name('queue name', queue) + '\u0000' + event
    let set = this._listeners.get(key)
    if (!set) {
      try {
        this._n.listen(queue, String(event), true)
      } catch (e) {
        throw fromNative(e)
      }
      set = new Set()
      this._listeners.set(key, set)
    }
    const wrapped = isolate('queue', cb)
    set.add(wrapped)
    return () => {
      if (!set.delete(wrapped) || set.size > 0) return
      this._listeners.delete(key)
      if (!this._closed) {
        try {
          this._n.listen(queue, String(event), false)
        } catch {
          // closed meanwhile: nothing to turn off
        }
      }
    }
  }

  pause(queue) {
    return settle(() => this._n.pause(name('queue name', queue))).then(() => undefined)
  }

  resume(queue) {
    return settle(() => this._n.resume(name('queue name', queue))).then(() => undefined)
  }

  isPaused(queue) {
    return settle(() => this._n.isPaused(name('queue name', queue)))
  }

  registerWorker(queue, jobName, handler, options) {
    return settle(() => {
      requireFunction('handler', handler)
      const o = encodeOptions(options, 'worker options', this._lim)
      const r = this._n.registerWorker(name('queue name', queue), name('job name', jobName), o)
      const attach = (concurrency) => {
        let runner = this._runners.get(queue)
        if (!runner) {
          runner = new Runner(this, queue)
          this._runners.set(queue, runner)
        }
        runner.handlers.set(jobName, handler)
        runner.concurrency = Math.max(runner.concurrency, concurrency)
        this._setPending(1)
        runner.pump()
      }
      return new Promise((resolve, reject) => whenDone(r, (c) => resolve(attach(c)), reject))
    }).then(() => undefined)
  }

  startProcessingQueue(queue) {
    return settle(() => this._n.startProcessing(name('queue name', queue))).then(() => undefined)
  }

  getScheduledJobs(queue) {
    return settle(() => this._n.getScheduledJobs(name('queue name', queue)), parse)
  }

  removeScheduledJob(id) {
    return settle(() => this._n.removeScheduledJob(name('schedule id', id)))
  }

  removeJob(queue, id) {
    return settle(() => this._n.removeJob(name('queue name', queue), name('job id', id)))
  }

  /**
   * Stops taking jobs, waits for running handlers (at most `closeTimeout` ms, default
   * 10 s), records their results, then closes the engine side. Resolves even when queues
   * are paused. Idempotent.
   */
  close() {
    if (this._closing) return this._closing
    this._closing = (async () => {
      // Running handlers, then the results they leave, within one closeTimeout: a finish
      // may take the next jobs ahead (Redis), which the engine's close gives back only
      // once they are there.
      const deadline = Date.now() + this._closeTimeout
      const within = async (waits) => {
        if (waits.length === 0) return
        let timer
        const timeout = new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))))
        await Promise.race([Promise.all(waits), timeout])
        clearTimeout(timer)
      }
      const runners = [...this._runners.values()]
      for (const r of runners) r.closing = true
      await within(runners.filter((r) => r.running > 0).map((r) => r.whenIdle()))
      for (const r of runners) r.flush()
      await within(runners.filter((r) => r.finishing > 0).map((r) => r.whenFinished()))
      this._closed = true
      if (this._keepalive) clearInterval(this._keepalive)
      this._keepalive = null
      this._listeners.clear()
      this._runners.clear()
      unregister(this._signals)
      await settle(() => this._n.close())
    })()
    return this._closing
  }
}

class MemoryQueueAdapter extends QueueView {
  /**
   * @param {{ defaultJobOptions?: object, worker?: object, closeTimeout?: number, limits?: object }} [options]
   */
  constructor(options) {
    super((signals) => native.NativeQueue.memory(outbox, signals, optionsText(options)), options)
  }
}

/**
 * Jobs on disk (SPEC §9): the queue engine with every change in a checksummed write-ahead
 * log under `dataDir`. Active jobs at a crash run again; delayed jobs and cron schedules
 * survive restarts. Opens on first use or in `init()`.
 */
class FileQueueAdapter extends QueueView {
  /**
   * @param {{ dataDir: string, durability?: 'always' | 'batch' | 'none',
   *   recovery?: 'strict' | 'salvage', syncWindowMs?: number, compactAfterBytes?: number,
   *   defaultJobOptions?: object, worker?: object, closeTimeout?: number, limits?: object }} options
   */
  constructor(options) {
    if (options === null || typeof options !== 'object' || typeof options.dataDir !== 'string') {
      throw new NventError('NVENT_INVALID_ARGUMENT', 'FileQueueAdapter needs { dataDir: string }')
    }
    super((signals) => native.NativeQueue.file(outbox, signals, optionsText(options)), options)
  }
  /** Opens the data dir now (lock, recovery) instead of on first use. */
  init() {
    return settle(() => this._n.init()).then(() => undefined)
  }
  /** What opening found: `{ generation, snapshotRecords, logRecords, torn: [...], skipped: [...], adopted: [...] }` (`adopted`: files of an earlier release's layout moved into `queue/`). */
  recoveryReport() {
    return settle(() => this._n.recoveryReport(), parseNullable)
  }
}

module.exports = { MemoryQueueAdapter, FileQueueAdapter, QueueView }
