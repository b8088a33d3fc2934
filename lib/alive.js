'use strict'
// The native completion channels are weak (an idle client never holds the process), so calls in
// flight and open streams are counted here, and one timer keeps Node alive while any is open, as
// open sockets would.
const timer = setInterval(() => {}, 2 ** 31 - 1)
timer.unref()
let open = 0

function hold() {
  if (open++ === 0) timer.ref()
}

function release() {
  if (--open === 0) timer.unref()
}

module.exports = { hold, release }
