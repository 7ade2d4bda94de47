// Adapter call trace, on when `NVENT_ENGINE_TRACE=<file>` is set at server start: every call
// made on an adapter this module hands out (including the store's `kv`, `index`, `stream`
// ... sub-objects) appends one JSON line to the file when it settles:
//   { "t": ms, "kind": "store", "method": "kv.set", "ok": false, "code": "NVENT_...", "message": "...", "args": "..." }
// It exists to measure what a host (nvent) asks of the engine and what the engine refuses;
// off, the adapters are handed out unwrapped (no cost).
import { appendFileSync } from 'node:fs'

const ARGS_PREVIEW = 300

/** The adapter, wrapped to log its calls when tracing is on; the adapter itself otherwise. */
export function traced<T extends object>(adapter: T, kind: string, file = process.env.NVENT_ENGINE_TRACE): T {
  if (!file) return adapter
  return wrap(adapter, kind, '', file)
}

function wrap<T extends object>(target: T, kind: string, path: string, file: string): T {
  const children = new Map<PropertyKey, unknown>()
  return new Proxy(target, {
    get(obj, prop) {
      const value = Reflect.get(obj, prop, obj)
      if (typeof prop === 'symbol' || prop === 'then' || prop === 'constructor') return value
      if (children.has(prop)) return children.get(prop)
      const name = path ? `${path}.${prop}` : prop
      let out: unknown = value
      if (typeof value === 'function') {
        // Called on the real object, not the proxy: classes with private state need their own `this`.
        out = (...args: unknown[]) => record(file, kind, name, args, () => value.apply(obj, args))
      }
      else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        out = wrap(value as object, kind, name, file)
      }
      else {
        return value
      }
      children.set(prop, out)
      return out
    },
  })
}

function record(file: string, kind: string, method: string, args: unknown[], call: () => unknown): unknown {
  const write = (ok: boolean, error?: unknown) => {
    const e = error as { code?: unknown, message?: unknown } | undefined
    const line: Record<string, unknown> = { t: Date.now(), kind, method, ok }
    if (!ok) {
      line.code = typeof e?.code === 'string' ? e.code : null
      line.message = typeof e?.message === 'string' ? e.message : String(error)
      line.args = preview(args)
    }
    try {
      appendFileSync(file, `${JSON.stringify(line)}\n`)
    }
    catch {
      // A trace that cannot be written must not change what the adapter call does.
    }
  }
  let result: unknown
  try {
    result = call()
  }
  catch (error) {
    write(false, error)
    throw error
  }
  if (result && typeof (result as Promise<unknown>).then === 'function') {
    return (result as Promise<unknown>).then(
      (value) => {
        write(true)
        return value
      },
      (error) => {
        write(false, error)
        throw error
      },
    )
  }
  write(true)
  return result
}

function preview(args: unknown[]): string {
  let text: string
  try {
    text = JSON.stringify(args, (_k, v) => (v === undefined ? '<undefined>' : typeof v === 'function' ? '<function>' : typeof v === 'bigint' ? `${v}n` : v))
  }
  catch {
    text = '<unserializable>'
  }
  return text.length > ARGS_PREVIEW ? `${text.slice(0, ARGS_PREVIEW)}…` : text
}
