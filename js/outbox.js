'use strict'
// The JS end of the engine's outbox (src/napi/outbox.rs). The engine queues
// `(target, payload)` pairs and wakes us once per batch; we drain them all and call the
// function registered for each target, in order. Targets are JS handlers (subscribers,
// bus handlers, queue runners, JS adapters called by the engine).

const native = require('./native')

const targets = new Map()
let nextTarget = 1

const outbox = new native.Outbox(() => {
  const items = JSON.parse(outbox.drain())
  for (let i = 0; i < items.length; i++) {
    const fn = targets.get(items[i][0])
    if (fn === undefined) continue
    // Targets isolate the user code they call (js/isolate.js); this guard is the last line:
    // a throw escaping here would reach the engine's wake-up as an uncaught exception
    // (fatal) and drop the rest of the batch.
    try {
      fn(items[i][1])
    } catch (e) {
      require('./isolate').report('engine', e)
    }
  }
})

/** Registers `fn(payload)` and returns its target id. */
function register(fn) {
  const id = nextTarget++
  targets.set(id, fn)
  return id
}

function unregister(id) {
  targets.delete(id)
}

function target(id) {
  return targets.get(id)
}

module.exports = { outbox, register, unregister, target }
