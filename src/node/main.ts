/**
 * `rl-node`: one node of the cluster. Options from flags or RL_* environment variables
 * (see `--help`); SIGINT/SIGTERM stop it cleanly (stop accepting, flush, persist, close).
 */
import { pino } from 'pino';
import { RlNode } from './node.js';
import { parseNodeOptions } from './options.js';

async function main(): Promise<void> {
  let options;
  try {
    options = parseNodeOptions(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const logger = pino({ level: options.logLevel, base: { nodeId: options.id }, redact: ['clusterSecret', '*.clusterSecret'] });
  let node: RlNode;
  try {
    node = await RlNode.start(options, logger);
  } catch (err) {
    logger.error({ err }, 'node failed to start');
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    node.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

void main();
