'use strict'
// Placeholder: filled by the bus slice.
module.exports = {}
