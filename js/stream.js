'use strict'
// Placeholder: filled by the stream slice.
module.exports = {}
