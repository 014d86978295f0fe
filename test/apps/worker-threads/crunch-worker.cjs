// The worker of app.cjs: each task burns its ms of CPU in looplensFixtureCrunch (one block of the worker's loop).
const { parentPort } = require('node:worker_threads');

function looplensFixtureCrunch(ms) {
  const until = performance.now() + ms;
  let x = 0;
  while (performance.now() < until) x += Math.sqrt(x + 1);
  return x;
}

parentPort.on('message', function onTask(task) {
  looplensFixtureCrunch(task.ms);
  parentPort.postMessage({ id: task.id });
});
