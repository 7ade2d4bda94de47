// Event bus (SPEC §6).

export interface BusEvent {
  type: string
  runId?: string
  [field: string]: unknown
}

export declare class EventBus {
  constructor()
  /** Delivers synchronously to matching handlers, in subscription order. */
  publish(event: BusEvent): void
  /** `type` or `'*'`; returns the unsubscribe function. */
  onType(type: string, handler: (event: BusEvent) => unknown): () => void
  subscribeRunId(runId: string, handler: (event: BusEvent) => unknown): () => void
}

/** The process-wide bus (survives module reloads). */
export declare function getEventBus(): EventBus
