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
