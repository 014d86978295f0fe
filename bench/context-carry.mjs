// Which mechanism carries a request's identity across awaits most cheaply (bench, not a test; issue #18).
// A fixed in-process workload of "requests" (a small JSON parse/stringify and AWAITS awaits each, half of them on
// setImmediate, the way I/O resumes), each given an identity token at its start and reading it back after every
// await. One mechanism per process (a hook, once enabled, slows everything after it), CPU time per request
// (process.cpuUsage, user + sys) over ROUNDS rounds, median and range printed as one JSON line.
//   node bench/context-carry.mjs <none|als|hook> [requests] [rounds]
// On Node 24 `als` is AsyncContextFrame (the default there); on Node 22 pass --experimental-async-context-frame.
import { AsyncLocalStorage, createHook, executionAsyncResource } from 'node:async_hooks';

const mode = process.argv[2] ?? 'none';
const REQUESTS = Number(process.argv[3] ?? 20000);
const ROUNDS = Number(process.argv[4] ?? 7);
const AWAITS = 8;
const CONCURRENT = 10;

let current = null;
let enter;
let read;
if (mode === 'none') {
  enter = (token, fn) => fn();
  read = () => null;
} else if (mode === 'als') {
  const als = new AsyncLocalStorage();
  // enterWith, as the probes do it from the http.server.request.start channel
  enter = (token, fn) => {
    als.enterWith(token);
    return fn();
  };
  read = () => als.getStore();
} else if (mode === 'hook') {
  // a context-switch hook: the token is copied onto every async resource at init and made current in before()
  const k = Symbol('token');
  createHook({
    init(_id, _type, _trigger, resource) {
      resource[k] = current;
    },
    before() {
      current = executionAsyncResource()[k] ?? null;
    },
  }).enable();
  enter = (token, fn) => {
    current = token;
    executionAsyncResource()[k] = token;
    return fn();
  };
  read = () => current;
} else throw new Error(`unknown mode ${mode}`);

const body = JSON.stringify({ id: 1, items: Array.from({ length: 8 }, (_, i) => ({ i, name: `item ${i}` })) });
let wrong = 0;
async function request(token) {
  for (let i = 0; i < AWAITS; i++) {
    if (i % 2) await new Promise((r) => setImmediate(r));
    else await Promise.resolve();
    if (mode !== 'none' && read() !== token) wrong++;
  }
  return JSON.stringify(JSON.parse(body));
}

function round(n) {
  return new Promise((done) => {
    let started = 0;
    let finished = 0;
    const next = () => {
      if (started >= n) return;
      const token = { id: started++ };
      // each request starts from a fresh macrotask, as a socket callback would
      setImmediate(() =>
        enter(token, () =>
          request(token).then(() => {
            if (++finished === n) done();
            else next();
          }),
        ),
      );
    };
    for (let i = 0; i < CONCURRENT; i++) next();
  });
}

await round(2000); // warm-up
const us = [];
for (let r = 0; r < ROUNDS; r++) {
  const c0 = process.cpuUsage();
  await round(REQUESTS);
  const c = process.cpuUsage(c0);
  us.push((c.user + c.system) / REQUESTS);
}
us.sort((a, b) => a - b);
console.log(JSON.stringify({ node: process.version, mode, usPerRequest: +us[us.length >> 1].toFixed(3), min: +us[0].toFixed(3), max: +us[us.length - 1].toFixed(3), wrong }));
