// Server auto-imports for worker functions: files under `server/functions/` that
// default-export `defineFunction(handler)` and export `config = defineFunctionConfig({...})`.
import type { JobHandler, JobOptions, WorkerOptions } from '@nvent/engine'

export interface FunctionConfig {
  queue: {
    /** Queue the function's jobs are taken from. */
    name: string
    /**
     * Handed to the engine's `registerWorker` as `defaultJobOptions`. The engine applies job
     * defaults per adapter (`nvent.queue.defaultJobOptions`); per-queue defaults are not in
     * SPEC §5 yet, so today the engine ignores this field.
     */
    defaultJobOptions?: JobOptions
  }
  /** Worker settings (`concurrency`, lease settings); `nvent.queue.worker` gives the defaults. */
  worker?: WorkerOptions
}

/** A job handler: its return value becomes the job's `returnvalue`; a throw fails the attempt. */
export type FunctionHandler<Data = unknown, Result = unknown> = JobHandler<Data, Result>

/** Define the handler of a worker function (the file's default export). */
export function defineFunction<Data = unknown, Result = unknown>(handler: FunctionHandler<Data, Result>): FunctionHandler<Data, Result> {
  return handler
}

/** Define the `config` export of a worker function. */
export function defineFunctionConfig(config: FunctionConfig): FunctionConfig {
  return config
}
