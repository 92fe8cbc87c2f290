/**
 * The rlctl command line (commander): global options, every command, and the mapping of
 * every outcome to an exit code (0 ok, 1 failure, 2 usage). `runRlctl` never throws and
 * never prints a stack trace.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './cli-error.js';
import { parseEndpoint } from './client.js';
import { adaptiveFreeze, adaptiveStatus } from './adaptive-commands.js';
import { configApply, configDiff, configExplain, configGet, configValidate } from './config-commands.js';
import type { CommandContext } from './context.js';
import type { CliIo } from './io.js';
import { checkCommand, leaderTransfer } from './misc-commands.js';
import { groupSplit } from './group-commands.js';
import { nodeAdd, nodeDrain, nodeList, nodeRemove } from './node-commands.js';
import { groupsCommand, statusCommand } from './status.js';
import { runTop } from './top.js';

export const DEFAULT_ENDPOINT = '127.0.0.1:7001';

function integer(min: number, what: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${what} must be an integer of at least ${min}`);
    return n;
  };
}

interface GlobalOptions {
  endpoint?: string;
  token?: string;
  json?: boolean;
}

/**
 * Runs rlctl with `argv` (without node and script). Returns the exit code.
 *
 * @example
 * ```ts
 * const code = await runRlctl(['status', '--json'], processIo, process.env);
 * process.exitCode = code;
 * ```
 */
export async function runRlctl(argv: readonly string[], io: CliIo, env: Readonly<Record<string, string | undefined>>): Promise<number> {
  let exitCode = EXIT_OK;
  let json = argv.includes('--json');
  const program = new Command('rlctl')
    .description('Admin CLI of the distributed rate limiter: cluster status, groups, leaders, configuration, manual checks.')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError('(run rlctl --help for usage)')
    // Environment fallbacks come from `env` (not commander's own process.env lookup), so tests can pass their own.
    .addOption(new Option('--endpoint <host:port>', 'node to talk to [env RL_ENDPOINT]').default(env['RL_ENDPOINT'] ?? DEFAULT_ENDPOINT))
    .addOption(new Option('--token <token>', 'admin token [env RL_ADMIN_TOKEN]').default(env['RL_ADMIN_TOKEN'], 'from RL_ADMIN_TOKEN'))
    .option('--json', 'machine-readable output (JSON on stdout)');
  program.addHelpText('after', '\nExit codes: 0 ok, 1 the operation failed, 2 usage error. See docs/rlctl.md.');

  const ctxOf = (cmd: Command): CommandContext => {
    const g = cmd.optsWithGlobals<GlobalOptions>();
    json = g.json === true;
    return { endpoint: parseEndpoint(g.endpoint ?? DEFAULT_ENDPOINT), token: g.token === '' ? undefined : g.token, json, io };
  };
  const act =
    <A extends unknown[]>(fn: (ctx: CommandContext, ...args: A) => Promise<number>) =>
    async (...all: unknown[]): Promise<void> => {
      const cmd = all[all.length - 1] as Command;
      exitCode = await fn(ctxOf(cmd), ...(all.slice(0, -2) as A));
    };
  // `config explain` and the top-level `explain` (operators reach for it while limits adapt): one definition.
  const explainCommand = (parent: Command, description: string): void => {
    const cmd = parent
      .command('explain')
      .description(description)
      .requiredOption('--key <key>', 'client key')
      .requiredOption('--resource <resource>', 'resource')
      .option('--tier <tier>', 'tier given with the check');
    cmd.action(
      act(async (ctx) => {
        const o = cmd.opts<{ key: string; resource: string; tier?: string }>();
        return configExplain(ctx, o.key, o.resource, o.tier);
      }),
    );
  };

  program
    .command('status')
    .description('nodes (up/down, config version, what they lead) and groups (leader, term, commit, replication lag)')
    .action(act(statusCommand));
  program.command('groups').description('every group with its replicas, leader, term, commit and applied index').action(act(groupsCommand));

  const leader = program.command('leader').description('group leadership');
  leader
    .command('transfer')
    .description('move the leadership of a group (0: the meta group) to a node, and wait until it moved')
    .argument('<group>', 'group id', integer(0, '<group>'))
    .argument('<node>', 'target node id')
    .action(act((ctx, group: number, node: string) => leaderTransfer(ctx, group, node)));

  const node = program.command('node').description('cluster membership: list, add, drain and remove nodes (docs/scale.md)');
  node.command('list').description('members, their state, replica counts, and the moves in progress').action(act(nodeList));
  const nodeAddCmd = node
    .command('add')
    .description('add a node to the cluster map (then start it with --join); the planner moves replicas onto it')
    .requiredOption('--id <id>', 'node id')
    .requiredOption('--peer-addr <host:port>', 'its peer transport address')
    .option('--addr <host:port>', 'its client API address');
  nodeAddCmd.action(
    act(async (ctx) => {
      const o = nodeAddCmd.opts<{ id: string; peerAddr: string; addr?: string }>();
      return nodeAdd(ctx, o.id, o.addr, o.peerAddr);
    }),
  );
  const drainCmd = node
    .command('drain')
    .description('move every replica and leader off a node (refused when too few nodes would remain)')
    .argument('<id>', 'node id')
    .option('--undo', 'make a draining node active again');
  drainCmd.action(act((ctx, id: string) => nodeDrain(ctx, id, drainCmd.opts<{ undo?: boolean }>().undo === true)));
  node
    .command('remove')
    .description('remove a drained node from the cluster (refused while it still holds replicas)')
    .argument('<id>', 'node id')
    .action(act((ctx, id: string) => nodeRemove(ctx, id)));

  const group = program.command('group').description('shard groups (docs/scale.md)');
  const splitCmd = group
    .command('split')
    .description("split a group: the upper half of its slots moves to a new group, counters included")
    .argument('<id>', 'shard group id', integer(1, '<id>'))
    .option('--wait', 'wait until the new group serves the slots (or the split was rolled back)');
  splitCmd.action(act((ctx, id: number) => groupSplit(ctx, id, splitCmd.opts<{ wait?: boolean }>().wait === true)));

  const config = program.command('config').description('the replicated rate-limit configuration');
  config.command('get').description('print the running configuration (document on stdout, version on stderr)').action(act(configGet));
  config
    .command('apply')
    .description('validate and apply a configuration file (YAML, or JSON by .json extension) on every node')
    .argument('<file>', 'configuration file')
    .option('--if-match <version>', 'apply only if the running version is this one (no lost updates)', integer(0, '--if-match'))
    .action(
      act(async (ctx, file: string) => {
        const opts = config.commands.find((c) => c.name() === 'apply')?.opts<{ ifMatch?: number }>() ?? {};
        return configApply(ctx, file, opts.ifMatch);
      }),
    );
  config.command('validate').description('dry run: list every issue, or what the file would change').argument('<file>', 'configuration file').action(act((ctx, file: string) => configValidate(ctx, file)));
  config.command('diff').description('rule-by-rule difference between the running version and a file').argument('<file>', 'configuration file').action(act((ctx, file: string) => configDiff(ctx, file)));
  explainCommand(config, 'which rule decides a check, and the chain of levels considered');
  explainCommand(program, 'which rule decides a check, its base limit, the adaptive factor and the signals that set it');

  const adaptive = program.command('adaptive').description('adaptive limits: factors, why they are set, and pinning them (docs/adaptive.md)');
  adaptive.command('status').description('every adaptive resource: factor, bounds, target, frozen, and the reason for its last change').action(act(adaptiveStatus));
  adaptive
    .command('freeze')
    .description('pin the current factor of a resource: the controller leaves it alone until unfreeze')
    .argument('<resource>', 'adaptive resource')
    .action(act((ctx, resource: string) => adaptiveFreeze(ctx, resource, true)));
  adaptive
    .command('unfreeze')
    .description('hand the factor of a resource back to the controller')
    .argument('<resource>', 'adaptive resource')
    .action(act((ctx, resource: string) => adaptiveFreeze(ctx, resource, false)));

  const check = program
    .command('check')
    .description('one rate-limit check, as a client would send it (counts against the key)')
    .requiredOption('--key <key>', 'client key')
    .option('--resource <resource>', 'resource (default: "default")')
    .option('--cost <n>', 'units to take (0 peeks)', integer(0, '--cost'))
    .option('--tier <tier>', 'tier of the client')
    .addOption(new Option('--client-token <token>', 'client token, when nodes require one [env RL_CLIENT_TOKEN]').default(env['RL_CLIENT_TOKEN'], 'from RL_CLIENT_TOKEN'));
  check.action(
    act(async (ctx) => {
      const o = check.opts<{ key: string; resource?: string; cost?: number; tier?: string; clientToken?: string }>();
      return checkCommand(ctx, { key: o.key, resource: o.resource, cost: o.cost, tier: o.tier, clientToken: o.clientToken });
    }),
  );

  const top = program
    .command('top')
    .description('live view of checks per second, latency and leaders across the cluster')
    .option('--interval <ms>', 'refresh interval', integer(100, '--interval'), 1000)
    .option('--iterations <n>', 'stop after this many refreshes', integer(1, '--iterations'));
  top.action(
    act(async (ctx) => {
      const o = top.opts<{ interval: number; iterations?: number }>();
      return runTop({ endpoint: ctx.endpoint.name, token: ctx.token, intervalMs: o.interval, ...(o.iterations === undefined ? {} : { iterations: o.iterations }), json: ctx.json });
    }),
  );

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; everything else commander rejects is a usage error (it printed why).
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version') return EXIT_OK;
      if (err.code === 'commander.executeSubCommandAsync') return EXIT_FAILURE;
      return EXIT_USAGE;
    }
    const e = err instanceof CliError ? err : new CliError(EXIT_FAILURE, `unexpected error: ${err instanceof Error ? err.message : String(err)}`, { code: 'RLCTL_INTERNAL' });
    if (json) io.out(`${JSON.stringify({ error: { message: e.message, ...e.details } }, null, 2)}\n`);
    else io.err([`rlctl: ${e.message}`, ...e.lines].join('\n') + '\n');
    return e.exitCode;
  }
}
