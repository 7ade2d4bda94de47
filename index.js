'use strict'
// @nvent/engine: the JS entry. Each module under js/ wraps one concern of the native
// addon; this file only gathers their exports (SPEC §1).

const { NventError } = require('./js/errors')

module.exports = {
  // Later entries win: a slice that implements a pending backend overrides its placeholder.
  ...require('./js/pending'),
  ...require('./js/store'),
  ...require('./js/queue'),
  ...require('./js/stream'),
  ...require('./js/bus'),
  ...require('./js/coordinator'),
  ...require('./js/registry'),
  NventError,
}
