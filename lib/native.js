'use strict'
// The generated napi-rs loader (built by `npm install` / `npm run build`).
module.exports = require('../binding.js')
