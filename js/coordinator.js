'use strict'
// Placeholder: filled by the coordinator slice.
module.exports = {}
