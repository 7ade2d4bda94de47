// The engine as nvent's adapter provider (SPEC §10 "Inside nvent"). nvent owns the adapters'
// life in its plugin — except their end: it never closes its store and stream adapters (the
// hooks object its plugin returns is ignored by Nitro), so this module closes what it made.
//
// One set per server process: nvent's runtime hook and seed 002's build-hook recipes both
// reach `engineAdapters()`, which creates the engine adapters for the kinds nvent's config
// selects on the first call and hands out the same instances afterwards (a file data dir has
// one owner, so a second instance would be refused).
import { AdapterRegistry, createAdapters, shutdownAdapters } from '@nvent/engine'
import type { Adapters, AdaptersConfig } from '@nvent/engine'
import { useRuntimeConfig } from '#imports'
import { engineSelections, fromNventConfig } from '../../config'
import type { Kind, ResolvedNventConfig } from '../../config'
import { traced } from '../trace'
import { state } from '../state'

export interface EngineProvision {
  /** The engine adapters nvent should use, by kind, under the name its config selects. */
  selected: Array<{ kind: Kind, name: string, adapter: object }>
  config: ResolvedNventConfig
}

let provision: Promise<EngineProvision> | undefined
let made: Adapters | undefined

/** The engine adapters for nvent's config; created on the first call of this process. */
export function engineAdapters(): Promise<EngineProvision> {
  provision ??= create().catch((error) => {
    provision = undefined
    throw error
  })
  return provision
}

async function create(): Promise<EngineProvision> {
  const config = fromNventConfig(useRuntimeConfig().nvent as Record<string, unknown>, process.env)
  const selections = engineSelections(config)
  const engineNames = new Set(selections.map(s => s.kind))
  // A kind nvent keeps (e.g. `postgres`, which the engine lacks) is made as an unused memory
  // adapter here: no I/O, closed right away.
  const adapters = await createAdapters({
    queue: engineNames.has('queue') ? config.queue : { adapter: 'memory' },
    stream: engineNames.has('stream') ? config.stream : { adapter: 'memory' },
    store: engineNames.has('store') ? config.store : { adapter: 'memory' },
  } as AdaptersConfig, new AdapterRegistry())
  for (const kind of ['queue', 'stream', 'store'] as const) {
    if (!engineNames.has(kind)) await closeOne(adapters, kind)
  }
  made = adapters
  state.adapters = adapters
  return {
    config,
    selected: selections.map(({ kind, name }) => ({ kind, name, adapter: traced(adapters[kind] as object, kind) })),
  }
}

/** The engine adapter for one kind (factory of seed 002's build-hook recipes). */
export async function createEngineAdapter(options: { kind?: Kind } | null): Promise<object> {
  const kind = options?.kind
  const found = (await engineAdapters()).selected.find(s => s.kind === kind)
  if (!found) throw new TypeError(`nvent: the engine provides no ${String(kind)} adapter for this config`)
  return found.adapter
}

/** Closes the adapters made here (Nitro's `close`): every acknowledged write reaches the disk. */
export async function closeEngineAdapters(): Promise<void> {
  const pending = provision
  provision = undefined
  state.closed = true
  // A start still under way: let it finish, then close what it made.
  await pending?.catch(() => {})
  const adapters = made
  made = undefined
  state.adapters = undefined
  if (adapters) await shutdownAdapters(adapters)
}

async function closeOne(adapters: Adapters, kind: Kind): Promise<void> {
  const a = adapters[kind] as { close?: () => Promise<void>, shutdown?: () => Promise<void> }
  if (kind === 'stream' && a.shutdown) await a.shutdown()
  else await a.close?.()
}
