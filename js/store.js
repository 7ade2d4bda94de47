'use strict'
// Placeholder: filled by the store slice.
module.exports = {}
