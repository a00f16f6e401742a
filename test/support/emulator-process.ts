// Runs one emulator in a child process for tests: fauxqs is an ES module, which Jest's module
// system cannot load, so tests reach it over HTTP like any SQS client. Prints {"url"} and stops
// when its stdin closes.
import { startSqs } from '../../infra/local/emulators';

const main = async () => {
  const sqs = await startSqs();
  process.stdout.write(`${JSON.stringify({ url: sqs.url })}\n`);
  const stop = () => void sqs.stop().finally(() => process.exit(0));
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.on('SIGTERM', stop);
  process.stdin.resume();
};

void main();
