// The container's health check: the door greets on its submission port (220), as a client sees it.
const { connect } = require('node:net');

const socket = connect({ host: '127.0.0.1', port: Number(process.argv[2] || 2587) });
const fail = () => process.exit(1);
socket.setTimeout(4000, fail);
socket.once('error', fail);
socket.once('data', (chunk) => {
  const healthy = chunk.toString().startsWith('220 ');
  socket.end('QUIT\r\n');
  process.exit(healthy ? 0 : 1);
});
