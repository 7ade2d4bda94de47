'use strict'
// Backends whose issues have not landed yet. They are exported so that imports written
// against SPEC §1 resolve, but constructing one fails with a clear NventError instead of
// silently behaving like another backend.

const { NventError } = require('./errors')

function pending(name, issue) {
  const cls = class {
    constructor() {
      throw new NventError(
        'NVENT_UNKNOWN_ADAPTER',
        `${name} is not available in this build yet (it arrives with the issue "${issue}"); ` +
          `use the memory backend meanwhile`,
      )
    }
  }
  Object.defineProperty(cls, 'name', { value: name })
  return cls
}

module.exports = {
  RedisQueueAdapter: pending('RedisQueueAdapter', 'Redis queue backend'),
}
