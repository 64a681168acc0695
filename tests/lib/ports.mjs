// A free TCP port on 127.0.0.1, found by listening on port 0 and closing.
// Whoever binds it next may race another process; callers retry a bounded
// number of times where that matters.
import { createServer } from 'node:net';

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
