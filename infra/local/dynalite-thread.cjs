// dynalite on a worker thread of its own (see startDynamo): the handlers, the SDK and the SMTP
// connections keep the main thread, and the store's work goes to a second core. Plain JavaScript, so it
// loads the same under npm start, tsx and Jest. Takes {options, port, host} as workerData; answers {port}
// or {error}.
const { parentPort, workerData } = require('node:worker_threads');
const { dirname } = require('node:path');
const dynalite = require('dynalite');

// dynalite's own LevelDB, whatever the install's layout: the one dynalite itself loads.
const { Level } = require(require.resolve('level', { paths: [dirname(require.resolve('dynalite'))] }));

/**
 * dynalite opens its database lazily and, when that fails, answers every request with "Database is
 * closed", and crashes. Opening it here first turns the usual cause, a second notice-relay on the same
 * data directory (LevelDB allows one process), into a message that says so.
 */
const checkDataDirectory = async (path) => {
  const probe = new Level(path);
  try {
    await probe.open();
  } catch (error) {
    if (error.cause && error.cause.code === 'LEVEL_LOCKED') {
      throw new Error(`the data directory ${dirname(path)} is in use by another notice-relay: stop it, or set NOTICE_RELAY_DATA to another directory`, { cause: error });
    }
    throw new Error(`cannot open the data directory ${dirname(path)}: ${(error.cause && error.cause.message) || error.message}`, { cause: error });
  }
  await probe.close();
};

const start = async () => {
  if (workerData.options.path) await checkDataDirectory(workerData.options.path);
  const server = dynalite(workerData.options);
  // The code and port let the main thread say which setting chose a port already in use.
  server.once('error', (error) => parentPort.postMessage({ error: error.message, code: error.code, port: error.port }));
  server.listen(workerData.port, workerData.host, () => parentPort.postMessage({ port: server.address().port }));
  parentPort.on('message', (message) => {
    if (message !== 'stop') return;
    server.close(() => parentPort.postMessage({ stopped: true }));
    server.closeAllConnections();
  });
};

start().catch((error) => parentPort.postMessage({ error: error.message }));
