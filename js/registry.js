'use strict'
// Placeholder: filled by the registry slice.
module.exports = {}
