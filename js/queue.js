'use strict'
// Placeholder: filled by the queue slice.
module.exports = {}
