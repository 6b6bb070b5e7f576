/**
 * Starting, stopping and asking after one broker, whatever manages it: the lab's own process
 * manager, a systemd unit, or command templates from the cluster spec ({id} and {host} replaced).
 */
import { execFile } from 'node:child_process';
import { LifeboatError } from '../errors';
import type { ClusterSpec } from '../config/spec';
import { brokerRunning, startBroker, stopBroker } from '../lab/lab';
import { findBroker, labTopology, type LabTopology } from '../lab/topology';

export type BrokerStatus = 'running' | 'stopped';

export interface BrokerControl {
  /** e.g. "lab primary-2", "systemd kafka.service". */
  readonly describe: string;
  start(): Promise<void>;
  /** Graceful stop; returns when the process is gone. */
  stop(): Promise<void>;
  status(): Promise<BrokerStatus>;
}

function sh(command: string, timeoutMs = 120_000): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', command], { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}`.trim() });
    });
  });
}

async function must(command: string, what: string): Promise<void> {
  const r = await sh(command);
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${r.output.split('\n').slice(-3).join(' ')}`);
}

export function brokerControlFor(spec: ClusterSpec, brokerId: number, opts: { labTopology?: LabTopology } = {}): BrokerControl {
  const b = spec.brokers.find((x) => x.id === brokerId);
  if (!b) throw new LifeboatError('InvalidInput', `cluster spec ${spec.name} has no broker ${brokerId}`);
  const c = b.control;
  switch (c.type) {
    case 'lab': {
      const topo = opts.labTopology ?? labTopology();
      const lb = findBroker(topo, c.cluster, brokerId);
      return {
        describe: `lab ${c.cluster}-${brokerId}`,
        start: () => startBroker(topo, lb),
        stop: async () => {
          await stopBroker(topo, lb);
        },
        status: async () => (brokerRunning(topo, lb) ? 'running' : 'stopped'),
      };
    }
    case 'systemd': {
      const unit = c.unit.replace(/'/g, '');
      return {
        describe: `systemd ${unit}`,
        start: () => must(`systemctl start '${unit}'`, `systemctl start ${unit}`),
        stop: () => must(`systemctl stop '${unit}'`, `systemctl stop ${unit}`),
        status: async () => ((await sh(`systemctl is-active --quiet '${unit}'`)).code === 0 ? 'running' : 'stopped'),
      };
    }
    case 'command': {
      const fill = (t: string) => t.replaceAll('{id}', String(brokerId)).replaceAll('{host}', b.host);
      return {
        describe: `command (${fill(c.status)})`,
        start: () => must(fill(c.start), `start command of broker ${brokerId}`),
        stop: () => must(fill(c.stop), `stop command of broker ${brokerId}`),
        status: async () => ((await sh(fill(c.status))).code === 0 ? 'running' : 'stopped'),
      };
    }
  }
}
