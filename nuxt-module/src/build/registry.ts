// The build-time adapter registry handed to the `nvent:registerAdapter` Nuxt hook. Adapters
// are runtime objects and a build cannot hand an object to the server it builds, so here a
// module registers *recipes*: where the adapter's class or factory lives. They are rendered
// into the virtual module `#nvent/adapters`, which the Nitro plugin imports and instantiates
// before the runtime hook of the same name runs (SPEC §10).

export type AdapterKind = 'queue' | 'stream' | 'store'

/** Where an adapter comes from: a class constructed with `new` or a factory that is called. */
export type AdapterSource =
  | {
    /** Module specifier resolvable from the app (a package name or an absolute path). */
    from: string
    /** Named export of a class; `new Class(options)` makes the adapter. @default 'default' */
    export?: string
    /** JSON options handed to the constructor. */
    options?: unknown
  }
  | {
    from: string
    /** Named export of a factory; `await factory(options, config)` returns the adapter. */
    factory: string
    options?: unknown
  }

/** A recipe: which name and kind an adapter registers under, and where it comes from. */
export type AdapterRecipe = AdapterSource & { name: string, kind: AdapterKind }

export interface NventBuildRegistry {
  /** Add a recipe (`{ name, kind, from, export }` or `{ name, kind, from, factory }`). */
  add: (recipe: AdapterRecipe) => void
  registerQueue: (name: string, source: AdapterSource) => void
  registerStream: (name: string, source: AdapterSource) => void
  registerStore: (name: string, source: AdapterSource) => void
  /** Recipes in registration order; a later recipe for the same kind and name replaces it. */
  list: () => AdapterRecipe[]
}

const KINDS: readonly AdapterKind[] = ['queue', 'stream', 'store']

export function createBuildRegistry(): NventBuildRegistry {
  const recipes = new Map<string, AdapterRecipe>()
  const add = (recipe: AdapterRecipe) => {
    const checked = checkRecipe(recipe)
    const key = `${checked.kind}:${checked.name}`
    recipes.delete(key)
    recipes.set(key, checked)
  }
  const registerAs = (kind: AdapterKind) => (name: string, source: AdapterSource) =>
    add({ ...checkSource(source, `${kind} adapter "${name}"`), name, kind } as AdapterRecipe)
  return {
    add,
    registerQueue: registerAs('queue'),
    registerStream: registerAs('stream'),
    registerStore: registerAs('store'),
    list: () => [...recipes.values()],
  }
}

function checkRecipe(recipe: AdapterRecipe): AdapterRecipe {
  const what = `adapter recipe ${JSON.stringify(recipe?.name ?? null)}`
  if (!recipe || typeof recipe !== 'object') throw new TypeError(`nvent: ${what} must be an object`)
  if (typeof recipe.name !== 'string' || !recipe.name) throw new TypeError(`nvent: ${what} needs a non-empty string \`name\``)
  if (!KINDS.includes(recipe.kind)) throw new TypeError(`nvent: ${what} needs \`kind\` 'queue', 'stream' or 'store', got ${JSON.stringify(recipe.kind)}`)
  return { ...checkSource(recipe, what), name: recipe.name, kind: recipe.kind } as AdapterRecipe
}

function checkSource(source: AdapterSource, what: string): AdapterSource {
  if (typeof source === 'function' || (source && typeof source === 'object' && !('from' in source))) {
    throw new TypeError(
      `nvent: ${what} was given an adapter or function; at build time register where it comes from `
      + `({ from: 'module specifier', export: 'ClassName' } or { from, factory: 'createAdapter' }), `
      + `or register the instance at runtime (Nitro hook 'nvent:registerAdapter' or registerQueueAdapter & co.)`,
    )
  }
  if (typeof source.from !== 'string' || !source.from) throw new TypeError(`nvent: ${what} needs a module specifier in \`from\``)
  const hasFactory = 'factory' in source && source.factory !== undefined
  const hasExport = 'export' in source && source.export !== undefined
  if (hasFactory && hasExport) throw new TypeError(`nvent: ${what} has both \`export\` and \`factory\`; give one`)
  if (hasFactory && typeof (source as { factory: unknown }).factory !== 'string') throw new TypeError(`nvent: ${what}: \`factory\` must name an export`)
  if (hasExport && typeof (source as { export: unknown }).export !== 'string') throw new TypeError(`nvent: ${what}: \`export\` must name an export`)
  if (source.options !== undefined) {
    try {
      JSON.stringify(source.options)
    }
    catch {
      throw new TypeError(`nvent: ${what}: \`options\` must be JSON (they are written into the server build)`)
    }
  }
  return hasFactory
    ? { from: source.from, factory: (source as { factory: string }).factory, options: source.options }
    : { from: source.from, export: (source as { export?: string }).export ?? 'default', options: source.options }
}

/** The code of `#nvent/adapters`: one namespace import per module, then the recipes. */
export function renderAdaptersModule(recipes: AdapterRecipe[]): string {
  const specifiers = [...new Set(recipes.map(r => r.from))]
  const imports = specifiers.map((from, i) => `import * as m${i} from ${JSON.stringify(from)}`)
  const entries = recipes.map((r) => {
    const mod = `m${specifiers.indexOf(r.from)}`
    const isFactory = 'factory' in r
    const exportName = isFactory ? r.factory : r.export
    return `  { name: ${JSON.stringify(r.name)}, kind: ${JSON.stringify(r.kind)}, from: ${JSON.stringify(r.from)}, `
      + `export: ${JSON.stringify(exportName)}, factory: ${isFactory}, target: ${mod}[${JSON.stringify(exportName)}], `
      + `options: ${JSON.stringify(r.options ?? null)} },`
  })
  return [...imports, 'export const recipes = [', ...entries, ']', ''].join('\n')
}
