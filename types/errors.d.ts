/** Stable error codes (SPEC §2). */
export type NventErrorCode =
  | 'NVENT_INVALID_NAME'
  | 'NVENT_INVALID_ARGUMENT'
  | 'NVENT_NOT_SERIALIZABLE'
  | 'NVENT_CIRCULAR'
  | 'NVENT_PAYLOAD_TOO_LARGE'
  | 'NVENT_NESTING_TOO_DEEP'
  | 'NVENT_NOT_FOUND'
  | 'NVENT_VERSION_CONFLICT'
  | 'NVENT_LOCK_LOST'
  | 'NVENT_UNKNOWN_ADAPTER'
  | 'NVENT_CLOSED'
  | 'NVENT_BACKEND_UNAVAILABLE'
  | 'NVENT_TIMEOUT'
  | 'NVENT_AUTH'
  | 'NVENT_IO'
  | 'NVENT_CORRUPT'
  | 'NVENT_DATA_DIR_LOCKED'
  | 'NVENT_INTERNAL'

/** Every failure of the engine: a JS Error with a stable `code`. */
export declare class NventError extends Error {
  constructor(code: NventErrorCode | string, message: string, extra?: { path?: string; cause?: unknown })
  readonly name: 'NventError'
  readonly code: NventErrorCode
  /** JSON path of the offending part of a value (`$.a.b[2]`), for value errors. */
  readonly path?: string
}

/** A JSON value as the engine stores it (SPEC §2). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }
