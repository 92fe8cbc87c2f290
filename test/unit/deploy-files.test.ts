// Proves docker-compose.yml describes a consistent 3-node cluster (it cannot be run here:
// no Docker engine) and that the sample limits file is a valid configuration.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/index.js';
import { parseNodeOptions } from '../../src/node/options.js';

const root = new URL('../../', import.meta.url);
const read = (p: string): string => readFileSync(new URL(p, root), 'utf8');

interface ComposeService {
  build?: string;
  command?: string[];
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test?: string[] };
}

function flag(cmd: readonly string[], name: string): string | undefined {
  const i = cmd.indexOf(name);
  return i >= 0 ? cmd[i + 1] : undefined;
}

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true }) as {
    services: Record<string, ComposeService>;
    volumes: Record<string, unknown>;
  };
  const services = Object.entries(compose.services);

  it('defines three nodes built from the Dockerfile', () => {
    expect(services.map(([name]) => name)).toEqual(['n1', 'n2', 'n3']);
    expect(existsSync(new URL('Dockerfile', root))).toBe(true);
    for (const [, svc] of services) expect(svc.build).toBe('.');
  });

  it('gives each node its own id, published client port and data volume', () => {
    const hostPorts = new Set<string>();
    for (const [name, svc] of services) {
      const cmd = svc.command ?? [];
      expect(flag(cmd, '--id')).toBe(name);
      const port = (svc.ports ?? [])[0] ?? '';
      hostPorts.add(port.split(':')[0] ?? '');
      expect(svc.volumes).toContain(`${name}-data:/data`);
      expect(compose.volumes).toHaveProperty(`${name}-data`);
      expect(svc.environment?.['RL_DATA']).toBe('/data');
      expect(svc.healthcheck?.test?.join(' ')).toContain('/readyz');
    }
    expect([...hostPorts].sort()).toEqual(['7001', '7002', '7003']);
  });

  it('lists every other node, and only those, as peers', () => {
    const names = services.map(([name]) => name);
    for (const [name, svc] of services) {
      const peers = (flag(svc.command ?? [], '--peers') ?? '').split(',').map((p) => p.split('=')[0]);
      expect(peers.sort()).toEqual(names.filter((n) => n !== name).sort());
    }
  });

  it('runs rl-node with flags and environment it accepts', () => {
    for (const [name, svc] of services) {
      const env = { ...(svc.environment ?? {}), RL_CLUSTER_SECRET: 'a-secret-of-sixteen-bytes+' };
      const o = parseNodeOptions(svc.command ?? [], env);
      expect(o.id).toBe(name);
      expect(o.dataDir).toBe('/data');
      expect(o.configPath).toBe('/etc/rl/limits.yaml');
      expect(Object.keys(o.peers).length).toBe(services.length - 1);
    }
  });

  it('mounts a configuration file that exists and validates', () => {
    for (const [, svc] of services) {
      const mount = (svc.volumes ?? []).find((v) => v.endsWith(':/etc/rl/limits.yaml:ro')) ?? '';
      const file = mount.split(':')[0] ?? '';
      expect(existsSync(new URL(file, root))).toBe(true);
    }
    const result = parseConfig(read('docs/limits.example.yaml'));
    expect(result.ok ? [] : result.errors).toEqual([]);
  });
});
