// Proves the pieces of rlctl that need no cluster: endpoint parsing (usage errors exit 2),
// aligned tables, the mapping of node error answers to one-line CliErrors, and that
// usage errors and help give exit codes 2 and 0 without touching the network.
import { describe, expect, it } from 'vitest';
import { CliError } from '../../src/cli/cli-error.js';
import { expectOk, parseEndpoint } from '../../src/cli/client.js';
import { runRlctl } from '../../src/cli/program.js';
import { table } from '../../src/cli/table.js';

async function run(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runRlctl(args, { out: (t) => (out += t), err: (t) => (err += t) }, {});
  return { code, out, err };
}

describe('rlctl units', () => {
  it('parses endpoints with or without a scheme and refuses anything else with exit 2', () => {
    expect(parseEndpoint('127.0.0.1:7001')).toEqual({ name: '127.0.0.1:7001', base: 'http://127.0.0.1:7001' });
    expect(parseEndpoint('http://localhost:7002/')).toEqual({ name: 'localhost:7002', base: 'http://localhost:7002' });
    for (const bad of ['localhost', 'a b:1', 'http://h:1/path']) {
      expect(() => parseEndpoint(bad)).toThrow(CliError);
      try {
        parseEndpoint(bad);
      } catch (e) {
        expect((e as CliError).exitCode).toBe(2);
      }
    }
  });

  it('aligns table columns without trailing spaces', () => {
    expect(table(['NODE', 'STATE'], [['n1', 'up'], ['n10', 'down']])).toBe('NODE  STATE\nn1    up\nn10   down\n');
  });

  it('turns error answers into one-line errors with the details kept for --json', () => {
    const ep = parseEndpoint('127.0.0.1:1');
    const answer = (status: number, body: unknown) => ({ status, body, headers: new Headers() });
    expect(expectOk(ep, answer(200, { ok: 1 }), 'hint')).toEqual({ ok: 1 });
    const cases: [number, unknown, RegExp][] = [
      [401, { error: { code: 'RL_ERR_UNAUTHORIZED', message: 'x' } }, /needs a token: hint/],
      [403, { error: { code: 'RL_ERR_FORBIDDEN', message: 'wrong token' } }, /refused the token: wrong token/],
      [412, { error: { code: 'RL_ERR_CONFLICT', message: 'If-Match 1 does not match\nmore', currentVersion: 2 } }, /^RL_ERR_CONFLICT: If-Match 1 does not match$/],
      [500, 'oops', /answered HTTP 500/],
    ];
    for (const [status, body, message] of cases) {
      try {
        expectOk(ep, answer(status, body), 'hint');
        throw new Error('expected a CliError');
      } catch (e) {
        expect(e).toBeInstanceOf(CliError);
        expect((e as CliError).message).toMatch(message);
        expect((e as CliError).exitCode).toBe(1);
      }
    }
    try {
      expectOk(ep, answer(400, { error: { code: 'RL_ERR_CONFIG_INVALID', message: 'm', issues: [{ path: 'a', message: 'b' }] } }), 'hint');
    } catch (e) {
      expect((e as CliError).lines).toEqual(['  a: b']);
      expect((e as CliError).details).toMatchObject({ code: 'RL_ERR_CONFIG_INVALID' });
    }
  });

  it('usage errors exit 2 and help exits 0, before any request', async () => {
    expect((await run(['--help'])).code).toBe(0);
    const unknown = await run(['nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/unknown command 'nope'/);
    expect((await run(['config', 'apply'])).code).toBe(2);
    expect((await run(['check', '--key', 'k', '--cost', '-1'])).code).toBe(2);
    expect((await run(['leader', 'transfer', '1.5', 'n1'])).code).toBe(2);
    expect((await run(['--endpoint', 'nohost', 'groups'])).code).toBe(2);
  });
});
