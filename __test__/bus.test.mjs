// The in-process event bus (SPEC §6): synchronous delivery to type, '*' and runId handlers in
// subscription order, unsubscribe functions, isolation of throwing and rejecting handlers, a
// process-wide bus that survives module reloads, and isolated buses for tests.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { EventBus, getEventBus, MemoryStreamAdapter } from '../index.mjs'
import * as esm from '../index.mjs'
import { waitFor, collector } from './helpers/wait.mjs'
import { unique, settle } from './helpers/expect.mjs'

const require = createRequire(import.meta.url)
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))

/** Collects `nvent.error` reports on `bus` whose text mentions `marker`. */
function errorsOn(bus, marker) {
  const got = collector()
  const off = bus.onType('nvent.error', (e) => {
    if (JSON.stringify(e).includes(marker)) got.push(e)
  })
  return { ...got, off }
}

describe('bus: process-wide and isolated buses', () => {
  test('getEventBus() returns the same bus every time', () => {
    assert.equal(getEventBus(), getEventBus())
    assert.equal(typeof getEventBus().publish, 'function')
    assert.equal(typeof getEventBus().onType, 'function')
    assert.equal(typeof getEventBus().subscribeRunId, 'function')
  })

  test('CommonJS and ESM share the process bus', () => {
    assert.equal(esm.getEventBus(), getEventBus())
    assert.equal(require('../index.js').getEventBus(), getEventBus())
  })

  test('the process bus survives a reload of the package modules', () => {
    const bus = getEventBus()
    const type = unique('reload')
    const got = collector()
    const off = bus.onType(type, got.push)
    // Drop the package's JS modules (not the native addon) from the require cache and load
    // them again, as a dev server's module reload does.
    const mine = (id) => id.startsWith(root + path.sep) && !id.includes(`${path.sep}node_modules${path.sep}`) && !/native|\.node$/.test(path.basename(id))
    const saved = {}
    for (const id of Object.keys(require.cache)) {
      if (mine(id)) {
        saved[id] = require.cache[id]
        delete require.cache[id]
      }
    }
    try {
      const fresh = require('../index.js')
      assert.notEqual(fresh, saved[require.resolve('../index.js')]?.exports, 'the package really was loaded again')
      assert.equal(fresh.getEventBus(), bus, 'the reloaded package returns the same bus')
      fresh.getEventBus().publish({ type, data: 1 })
      assert.equal(got.items.length, 1, 'a subscription made before the reload sees events published after it')
    } finally {
      off()
      Object.assign(require.cache, saved)
    }
  })

  test('new EventBus() is isolated from the process bus', () => {
    const bus = new EventBus()
    assert.notEqual(bus, getEventBus())
    const type = unique('iso')
    const onGlobal = collector()
    const onLocal = collector()
    const offGlobal = getEventBus().onType(type, onGlobal.push)
    const offLocal = bus.onType(type, onLocal.push)
    bus.publish({ type, data: 'local' })
    getEventBus().publish({ type, data: 'global' })
    assert.deepEqual(onLocal.items.map((e) => e.data), ['local'])
    assert.deepEqual(onGlobal.items.map((e) => e.data), ['global'])
    offGlobal()
    offLocal()
  })

  test('two new buses are isolated from each other', () => {
    const a = new EventBus()
    const b = new EventBus()
    const got = collector()
    b.onType('*', got.push)
    a.publish({ type: 'x', runId: 'r' })
    assert.equal(got.items.length, 0)
  })
})

describe('bus: delivery', () => {
  test('publish delivers synchronously', () => {
    const bus = new EventBus()
    let seen = null
    bus.onType('flow.start', (e) => {
      seen = e
    })
    bus.publish({ type: 'flow.start', runId: 'r1', data: { a: 1 } })
    assert.deepEqual(seen, { type: 'flow.start', runId: 'r1', data: { a: 1 } })
  })

  test('onType(type) receives only events of that type', () => {
    const bus = new EventBus()
    const got = collector()
    bus.onType('step.completed', got.push)
    bus.publish({ type: 'step.started', runId: 'r' })
    bus.publish({ type: 'step.completed', runId: 'r', data: 1 })
    bus.publish({ type: 'step.completed.extra', runId: 'r' })
    bus.publish({ type: 'step', runId: 'r' })
    assert.deepEqual(got.items, [{ type: 'step.completed', runId: 'r', data: 1 }])
  })

  test("onType('*') receives events of every type", () => {
    const bus = new EventBus()
    const got = collector()
    bus.onType('*', got.push)
    bus.publish({ type: 'a' })
    bus.publish({ type: 'b', runId: 'r' })
    bus.publish({ type: 'c.d' })
    assert.deepEqual(got.items.map((e) => e.type), ['a', 'b', 'c.d'])
  })

  test('subscribeRunId(runId) receives only events of that run', () => {
    const bus = new EventBus()
    const got = collector()
    bus.subscribeRunId('run-1', got.push)
    bus.publish({ type: 'x', runId: 'run-2' })
    bus.publish({ type: 'x' })
    bus.publish({ type: 'y', runId: 'run-1', data: 1 })
    bus.publish({ type: 'z', runId: 'run-10' })
    assert.deepEqual(got.items, [{ type: 'y', runId: 'run-1', data: 1 }])
  })

  test('handlers run in the order the subscriptions were made, across kinds', () => {
    const bus = new EventBus()
    const order = []
    bus.subscribeRunId('r', () => order.push('runId'))
    bus.onType('t', () => order.push('type'))
    bus.onType('*', () => order.push('star'))
    bus.onType('t', () => order.push('type-2'))
    bus.subscribeRunId('r', () => order.push('runId-2'))
    bus.publish({ type: 't', runId: 'r' })
    assert.deepEqual(order, ['runId', 'type', 'star', 'type-2', 'runId-2'])
  })

  test('subscription order holds in another interleaving', () => {
    const bus = new EventBus()
    const order = []
    bus.onType('*', () => order.push('star'))
    bus.subscribeRunId('r', () => order.push('runId'))
    bus.onType('t', () => order.push('type'))
    bus.publish({ type: 't', runId: 'r' })
    bus.publish({ type: 'other', runId: 'r' })
    assert.deepEqual(order, ['star', 'runId', 'type', 'star', 'runId'])
  })

  test('a handler matching by type, * and runId gets the event once per subscription', () => {
    const bus = new EventBus()
    let calls = 0
    const h = () => {
      calls++
    }
    bus.onType('t', h)
    bus.onType('*', h)
    bus.subscribeRunId('r', h)
    bus.publish({ type: 't', runId: 'r' })
    assert.equal(calls, 3)
  })

  test('the same handler subscribed twice is called twice', () => {
    const bus = new EventBus()
    let calls = 0
    const h = () => {
      calls++
    }
    const off1 = bus.onType('t', h)
    bus.onType('t', h)
    bus.publish({ type: 't' })
    assert.equal(calls, 2)
    off1()
    bus.publish({ type: 't' })
    assert.equal(calls, 3, 'one subscription is left')
  })

  test('events arrive in publish order', () => {
    const bus = new EventBus()
    const got = collector()
    bus.onType('n', got.push)
    for (let i = 0; i < 1000; i++) bus.publish({ type: 'n', data: i })
    assert.deepEqual(got.items.map((e) => e.data), Array.from({ length: 1000 }, (_, i) => i))
  })

  test('a handler that publishes is served synchronously, before publish returns', () => {
    const bus = new EventBus()
    const order = []
    bus.onType('a', () => {
      order.push('a:start')
      bus.publish({ type: 'b' })
      order.push('a:end')
    })
    bus.onType('b', () => order.push('b'))
    bus.publish({ type: 'a' })
    order.push('returned')
    assert.deepEqual(order, ['a:start', 'b', 'a:end', 'returned'])
  })
})

describe('bus: unsubscribe', () => {
  test('each subscribe returns an unsubscribe function', () => {
    const bus = new EventBus()
    for (const off of [bus.onType('t', () => {}), bus.onType('*', () => {}), bus.subscribeRunId('r', () => {})]) {
      assert.equal(typeof off, 'function')
      off()
    }
  })

  test('after unsubscribe a type handler gets nothing; others still do', () => {
    const bus = new EventBus()
    const a = collector()
    const b = collector()
    const offA = bus.onType('t', a.push)
    bus.onType('t', b.push)
    bus.publish({ type: 't', data: 1 })
    offA()
    bus.publish({ type: 't', data: 2 })
    assert.deepEqual(a.items.map((e) => e.data), [1])
    assert.deepEqual(b.items.map((e) => e.data), [1, 2])
  })

  test("unsubscribing a '*' handler and a runId handler stops them", () => {
    const bus = new EventBus()
    const star = collector()
    const run = collector()
    const offStar = bus.onType('*', star.push)
    const offRun = bus.subscribeRunId('r', run.push)
    bus.publish({ type: 't', runId: 'r' })
    offStar()
    offRun()
    bus.publish({ type: 't', runId: 'r' })
    assert.equal(star.items.length, 1)
    assert.equal(run.items.length, 1)
  })

  test('calling an unsubscribe function twice is harmless', () => {
    const bus = new EventBus()
    const a = collector()
    const b = collector()
    const offA = bus.onType('t', a.push)
    bus.onType('t', b.push)
    offA()
    offA()
    bus.publish({ type: 't' })
    assert.equal(a.items.length, 0)
    assert.equal(b.items.length, 1, 'the second unsubscribe did not remove another handler')
  })

  test('a handler that unsubscribes itself does not stop delivery to later handlers', () => {
    const bus = new EventBus()
    const later = collector()
    let calls = 0
    const off = bus.onType('t', () => {
      calls++
      off()
    })
    bus.onType('t', later.push)
    bus.publish({ type: 't', data: 1 })
    bus.publish({ type: 't', data: 2 })
    assert.equal(calls, 1)
    assert.deepEqual(later.items.map((e) => e.data), [1, 2])
  })
})

describe('bus: handler errors', () => {
  test('a throwing handler does not stop later handlers and publish does not throw', () => {
    const bus = new EventBus()
    const marker = unique('throw')
    const errors = errorsOn(bus, marker)
    const later = collector()
    bus.onType('t', () => {
      throw new Error(marker)
    })
    bus.onType('t', later.push)
    assert.doesNotThrow(() => bus.publish({ type: 't', data: 1 }))
    bus.publish({ type: 't', data: 2 })
    assert.deepEqual(later.items.map((e) => e.data), [1, 2])
    errors.off()
  })

  test('a throwing handler is reported as nvent.error with { source, code, message }', async () => {
    const bus = new EventBus()
    const marker = unique('throw')
    const errors = errorsOn(bus, marker)
    bus.onType('t', () => {
      throw new Error(marker)
    })
    bus.publish({ type: 't' })
    await errors.until(1)
    const [report] = errors.items
    assert.equal(report.type, 'nvent.error')
    assert.equal(typeof report.data, 'object')
    assert.equal(typeof report.data.source, 'string')
    assert.equal(typeof report.data.code, 'string')
    assert.ok(report.data.message.includes(marker), `message: ${report.data.message}`)
    errors.off()
  })

  test('a handler whose Promise rejects is isolated and reported as nvent.error', async () => {
    const bus = new EventBus()
    const marker = unique('reject')
    const errors = errorsOn(bus, marker)
    const later = collector()
    bus.onType('t', async () => {
      await Promise.resolve()
      throw new Error(marker)
    })
    bus.onType('t', later.push)
    bus.publish({ type: 't', data: 1 })
    assert.equal(later.items.length, 1)
    await errors.until(1)
    assert.equal(errors.items[0].type, 'nvent.error')
    assert.ok(errors.items[0].data.message.includes(marker))
    errors.off()
  })

  test('a throwing runId and * handler are isolated too', () => {
    const bus = new EventBus()
    const marker = unique('throw')
    const errors = errorsOn(bus, marker)
    const last = collector()
    bus.subscribeRunId('r', () => {
      throw new Error(marker)
    })
    bus.onType('*', () => {
      throw new Error(marker)
    })
    bus.onType('t', last.push)
    bus.publish({ type: 't', runId: 'r' })
    assert.equal(last.items.length, 1)
    errors.off()
  })

  test('a throwing nvent.error handler does not loop', async () => {
    const bus = new EventBus()
    let errorHandlerCalls = 0
    bus.onType('nvent.error', () => {
      errorHandlerCalls++
      throw new Error('error handler fails too')
    })
    bus.onType('t', () => {
      throw new Error('first failure')
    })
    bus.publish({ type: 't' })
    await settle(200)
    assert.ok(errorHandlerCalls >= 1 && errorHandlerCalls < 10, `the error handler ran ${errorHandlerCalls} times`)
  })

  test("a throwing '*' handler does not loop through its own nvent.error reports", async () => {
    const bus = new EventBus()
    let calls = 0
    bus.onType('*', () => {
      calls++
      throw new Error('star handler fails')
    })
    bus.publish({ type: 't' })
    await settle(200)
    assert.ok(calls >= 1 && calls < 10, `the '*' handler ran ${calls} times for one event`)
  })

  test('errors from the engine reach bus handlers asynchronously and in order', async () => {
    const marker = unique('engine')
    const errors = errorsOn(getEventBus(), marker)
    const stream = new MemoryStreamAdapter()
    try {
      await stream.subscribe(marker, (e) => {
        throw new Error(`${marker}#${e.data}`)
      })
      for (let i = 0; i < 5; i++) await stream.publish(marker, { type: 't', data: i })
      await errors.until(5)
      assert.deepEqual(
        errors.items.map((r) => Number(/#(\d+)/.exec(r.data.message)[1])),
        [0, 1, 2, 3, 4],
      )
    } finally {
      errors.off()
      await stream.shutdown()
    }
  })
})
