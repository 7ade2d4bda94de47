// Plain-JS baselines doing the same work as the engine, in the same process. They follow
// what the TypeScript reference adapters do (sorting or scanning arrays, EventEmitter), so
// the ratios say what switching to the engine changes for a user.
import { EventEmitter } from 'node:events'

/** A kv store on a Map that copies values in and out (JSON round trip), with async methods. */
export class MapKv {
  #map = new Map()
  async set(key, value) {
    this.#map.set(key, JSON.stringify(value))
  }
  async get(key) {
    const v = this.#map.get(key)
    return v === undefined ? null : JSON.parse(v)
  }
}

/** A sorted index as the reference memory adapter keeps it: an array sorted on every read. */
export class ArrayIndex {
  #entries = new Map()
  add(id, score, metadata) {
    this.#entries.set(id, { id, score, metadata: { ...metadata, version: 0 } })
  }
  async read({ offset = 0, limit = 50 } = {}) {
    const all = [...this.#entries.values()].sort((a, b) => b.score - a.score || (a.id < b.id ? 1 : -1))
    return all.slice(offset, offset + limit).map((e) => structuredClone(e))
  }
}

/** An event stream as the reference memory adapter keeps it: an array scanned on read. */
export class ArrayStream {
  #events = []
  #seq = 0
  append(event) {
    const rec = { id: `${Date.now()}-${this.#seq++}`, ts: Date.now(), ...event }
    this.#events.push(rec)
    return rec
  }
  async read({ after, limit } = {}) {
    let out = this.#events
    if (after !== undefined) {
      const i = out.findIndex((e) => e.id === after)
      out = out.slice(i + 1)
    }
    if (limit !== undefined) out = out.slice(0, limit)
    return out.map((e) => structuredClone(e))
  }
}

/**
 * A minimal in-process job queue: jobs in a Map with states, a FIFO of waiting ids, and a
 * worker loop running up to `concurrency` async handlers.
 */
export class MiniQueue {
  #jobs = new Map()
  #waiting = []
  #head = 0
  #seq = 0
  #active = 0
  #handler = null
  #concurrency = 1
  #onIdle = null
  completed = 0
  enqueue(name, data) {
    const id = String(++this.#seq)
    this.#jobs.set(id, { id, name, data, state: 'waiting', attemptsMade: 0, timestamp: Date.now() })
    this.#waiting.push(id)
    this.#pump()
    return id
  }
  process(handler, concurrency) {
    this.#handler = handler
    this.#concurrency = concurrency
    this.#pump()
  }
  drained() {
    return new Promise((resolve) => {
      this.#onIdle = resolve
      this.#pump()
    })
  }
  #pump() {
    if (!this.#handler) return
    while (this.#active < this.#concurrency && this.#head < this.#waiting.length) {
      const job = this.#jobs.get(this.#waiting[this.#head++])
      this.#run(job)
    }
    if (this.#active === 0 && this.#head >= this.#waiting.length && this.#onIdle) this.#onIdle()
  }
  async #run(job) {
    this.#active++
    job.state = 'active'
    job.processedOn = Date.now()
    job.attemptsMade++
    try {
      job.returnvalue = await this.#handler(job)
      job.state = 'completed'
    } catch (e) {
      job.state = 'failed'
      job.failedReason = e.message
    }
    job.finishedOn = Date.now()
    this.completed++
    this.#active--
    this.#pump()
  }
}

export function emitterWith(n, onEvent) {
  const ee = new EventEmitter()
  ee.setMaxListeners(n + 1)
  for (let i = 0; i < n; i++) ee.on('flow.step', onEvent)
  return ee
}
