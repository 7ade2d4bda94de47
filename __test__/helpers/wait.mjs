// Waiting for conditions with generous bounds instead of fixed sleeps (STYLE: tests).

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor(check, { timeoutMs = 10000, intervalMs = 5, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

/** Resolves with the first value passed to the returned `push` that satisfies `pred`. */
export function collector() {
  const items = []
  return {
    items,
    push: (x) => items.push(x),
    until: (n, opts) => waitFor(() => items.length >= n && items, { what: `${n} items`, ...opts }),
  }
}
