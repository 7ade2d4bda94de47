// Types of @nvent/engine (SPEC §1). One file per concern under types/.
export * from './types/errors'
export * from './types/store'
export * from './types/queue'
export * from './types/stream'
export * from './types/bus'
export * from './types/coordinator'
export * from './types/registry'
