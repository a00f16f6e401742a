// dynalite on a worker thread of its own (see startDynamo): the handlers, the SDK and the SMTP
// connections keep the main thread, and the store's work goes to a second core. Plain JavaScript, so it
// loads the same under npm start, tsx and Jest. Takes {options, port} as workerData; answers {port}.
const { parentPort, workerData } = require('node:worker_threads');
const dynalite = require('dynalite');

const server = dynalite(workerData.options);
server.once('error', (error) => parentPort.postMessage({ error: error.message }));
server.listen(workerData.port, workerData.host, () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  server.close(() => parentPort.postMessage({ stopped: true }));
  server.closeAllConnections();
});
