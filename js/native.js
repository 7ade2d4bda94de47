'use strict'
// Loads the compiled addon (the loader napi-rs generates picks the platform binary).
module.exports = require('../native.js')
