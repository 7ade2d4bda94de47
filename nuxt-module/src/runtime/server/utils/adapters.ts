// Server auto-imports that hand out the adapters the Nitro plugin created (SPEC §10).
import { getEventBus, NventError } from '@nvent/engine'
import type { Adapters, EventBus, QueueAdapter, StoreAdapter, StreamAdapter } from '@nvent/engine'
import { state } from '../state'

/** The queue, stream and store adapters of this server. */
export function useAdapters(): Adapters {
  if (state.adapters) return state.adapters
  if (state.startError !== undefined) {
    const e = state.startError as { code?: unknown, message?: unknown }
    const code = typeof e?.code === 'string' ? e.code : 'NVENT_BACKEND_UNAVAILABLE'
    throw new NventError(code, `nvent failed to start: ${typeof e?.message === 'string' ? e.message : String(state.startError)}`)
  }
  throw state.closed
    ? new NventError('NVENT_CLOSED', 'nvent adapters are closed: the server is shutting down')
    : new NventError('NVENT_BACKEND_UNAVAILABLE', 'nvent adapters are not ready yet: use them in request handlers, worker functions or the Nitro hook \'nvent:ready\', not while plugins load')
}

/** The job queue adapter (`nvent.queue.adapter`). */
export function useQueueAdapter(): QueueAdapter {
  return useAdapters().queue
}

/** The pub/sub stream adapter (`nvent.stream.adapter`). */
export function useStreamAdapter(): StreamAdapter {
  return useAdapters().stream
}

/** The store adapter (`nvent.store.adapter`). */
export function useStoreAdapter(): StoreAdapter {
  return useAdapters().store
}

/** The process-wide in-process event bus (SPEC §6). */
export function useEventBus(): EventBus {
  return getEventBus()
}
