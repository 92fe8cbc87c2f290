/**
 * `rl-node`: one node of the cluster. Options from flags or RL_* environment variables
 * (see `--help`); SIGINT/SIGTERM stop it cleanly (stop accepting, flush, persist, close).
 */
import { createNodeLogger } from './logging.js';
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
  let logger;
  try {
    logger = createNodeLogger({ nodeId: options.id, level: options.logLevel });
  } catch (err) {
    process.stderr.write(`Cannot start rl-node: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  // Secrets in the options (the cluster secret) are redacted by the logger (src/node/logging.ts).
  logger.info({ options }, 'node options');
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
