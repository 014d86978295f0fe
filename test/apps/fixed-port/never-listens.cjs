'use strict';
/** An app that starts and never listens on any port (for the message looplens gives when nothing listens). */
console.log('starting, but never listening');
setInterval(() => {}, 1000);
