/**
 * `npm start`: the local-cluster launcher. The node runtime (multi-raft host, transport,
 * client API) lands with the node issue; until then this says so and exits cleanly.
 */
const lines = [
  'distributed-rate-limiter: cluster not built yet.',
  'The rate-limit engine and configuration are in src/engine and src/config;',
  'run `npm test` for the test suites and `npm run bench:engine` for the engine benchmark.',
];
process.stdout.write(`${lines.join('\n')}\n`);
