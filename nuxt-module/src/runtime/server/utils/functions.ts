// Server auto-imports for worker functions: files under `server/functions/` that
// default-export `defineFunction(handler)` and export `config = defineFunctionConfig({...})`.
import type { JobHandler, JobOptions, WorkerOptions } from '@nvent/engine'

export interface FunctionConfig {
  queue: {
    /** Queue the function's jobs are taken from. */
    name: string
    /**
     * Options every job of this function gets under its own (over
     * `nvent.queue.defaultJobOptions`): handed to the engine's `registerWorker`, which applies
     * them to jobs of this name on this queue enqueued through this server's adapter.
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
