// Backend factories for the conformance suite. A backend gives fresh adapters per test.
import { MemoryStoreAdapter, MemoryQueueAdapter, MemoryStreamAdapter } from '../../index.js'

export const backends = [
  {
    name: 'memory',
    store: () => new MemoryStoreAdapter(),
    queue: (opts) => new MemoryQueueAdapter(opts),
    stream: () => new MemoryStreamAdapter(),
  },
]
