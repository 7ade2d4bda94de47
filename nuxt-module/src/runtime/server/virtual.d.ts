// Virtual modules rendered by the module at build time (src/build/).
declare module '#nvent/adapters' {
  export const recipes: Array<{
    name: string
    kind: 'queue' | 'stream' | 'store'
    from: string
    export: string
    factory: boolean
    target: unknown
    options: unknown
  }>
}

declare module '#nvent/functions' {
  export const functions: Array<{ name: string, file: string, module: Record<string, unknown> }>
}

declare module '#nvent/host' {
  /** True when nvent called seed 002's build hook: adapters arrive as recipes, not at runtime. */
  export const viaBuildHook: boolean
  /** nvent's `registerQueueAdapter` & co. (empty when `viaBuildHook`). */
  export const register: Record<'queue' | 'stream' | 'store', (name: string, adapter: object) => void>
}

declare module '#nvent/sse' {
  /** Topic patterns of `sse.topics`. */
  export const topics: string[]
}
