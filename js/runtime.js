'use strict'
// The Node.js versions the engine runs on (SPEC §1: Node >= 20). Checked first thing when
// the package loads: on older Node the JS layer's Node 20 APIs (String.prototype
// .isWellFormed in js/codec.js) would otherwise make every call fail with a bare TypeError.
// No syntax or API newer than Node 12 in this file, so the check itself runs anywhere.

const { NventError } = require('./errors')

const MIN_NODE_MAJOR = 20

/**
 * Throws an NventError (`NVENT_UNSUPPORTED_RUNTIME`) naming the required version when
 * `version` (`process.versions.node`) is older than Node 20 or the runtime lacks the APIs the
 * engine uses.
 * @param {string} version
 */
function checkNode(version) {
  const m = /^(\d+)\./.exec(String(version))
  const major = m ? Number(m[1]) : NaN
  const apis = typeof String.prototype.isWellFormed === 'function'
  if (major >= MIN_NODE_MAJOR && apis) return
  throw new NventError(
    'NVENT_UNSUPPORTED_RUNTIME',
    `@nvent/engine needs Node.js >= ${MIN_NODE_MAJOR}.0.0; this is Node.js ${version}` +
      (apis ? '' : ' without String.prototype.isWellFormed') +
      `. Upgrade Node.js to ${MIN_NODE_MAJOR} or later.`,
  )
}

module.exports = { checkNode, MIN_NODE_MAJOR }
