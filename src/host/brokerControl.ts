/**
 * Starting, stopping and asking after one broker, whatever manages it: a systemd unit, command
 * templates from the cluster spec ({id} and {host} replaced), or an adapter that the process running
 * the worker registered (the DR lab registers "lab" for its own process manager; src/ knows none).
 */
import { execFile } from 'node:child_process';
import { LifeboatError } from '../errors';
import type { BrokerSpec, ClusterSpec } from '../config/spec';

export type BrokerStatus = 'running' | 'stopped';

export interface BrokerControl {
  /** e.g. "lab primary-2", "systemd kafka.service". */
  readonly describe: string;
  start(): Promise<void>;
  /** Graceful stop; returns when the process is gone. */
  stop(): Promise<void>;
  status(): Promise<BrokerStatus>;
  /**
   * Ends the process the way a host dies (SIGKILL: no controlled shutdown), for drills; returns once
   * the process is gone. As after a real crash, a ZooKeeper-mode broker's registration lingers until
   * its session expires: whoever starts it again or replaces its log dirs waits for that
   * (startBrokerWhenUnregistered, stopBrokerAndWait). Optional: a control without it has no such
   * thing, and a drill's kill falls back to stop.
   */
  kill?(): Promise<void>;
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

/** Makes the control of one broker from the adapter's options in the spec (validated by the adapter). */
export type BrokerControlFactory = (broker: BrokerSpec, options: Record<string, string>, spec: ClusterSpec) => BrokerControl;

const adapters = new Map<string, BrokerControlFactory>();

/** Registers an adapter under the name specs use (`control: { type: adapter, adapter: <name>, options }`). */
export function registerBrokerControl(name: string, factory: BrokerControlFactory): void {
  adapters.set(name, factory);
}

export const registeredBrokerControls = (): string[] => [...adapters.keys()].sort();

export function brokerControlFor(spec: ClusterSpec, brokerId: number): BrokerControl {
  const b = spec.brokers.find((x) => x.id === brokerId);
  if (!b) throw new LifeboatError('InvalidInput', `cluster spec ${spec.name} has no broker ${brokerId}`);
  const c = b.control;
  switch (c.type) {
    case 'adapter': {
      const factory = adapters.get(c.adapter);
      if (!factory) {
        const known = registeredBrokerControls();
        throw new LifeboatError(
          'InvalidSpec',
          `broker ${brokerId} of ${spec.name} is controlled by adapter "${c.adapter}", which this process has not registered (${known.length ? `registered: ${known.join(', ')}` : 'none registered'}); start the worker with --adapter <module that registers it>`,
        );
      }
      return factory(b, c.options, spec);
    }
    case 'systemd': {
      const unit = c.unit.replace(/'/g, '');
      return {
        describe: `systemd ${unit}`,
        start: () => must(`systemctl start '${unit}'`, `systemctl start ${unit}`),
        stop: () => must(`systemctl stop '${unit}'`, `systemctl stop ${unit}`),
        status: async () => ((await sh(`systemctl is-active --quiet '${unit}'`)).code === 0 ? 'running' : 'stopped'),
        kill: () => must(`systemctl kill --signal=SIGKILL '${unit}'`, `systemctl kill ${unit}`),
      };
    }
    case 'command': {
      const fill = (t: string) => t.replaceAll('{id}', String(brokerId)).replaceAll('{host}', b.host);
      return {
        describe: `command (${fill(c.status)})`,
        start: () => must(fill(c.start), `start command of broker ${brokerId}`),
        stop: () => must(fill(c.stop), `stop command of broker ${brokerId}`),
        status: async () => ((await sh(fill(c.status))).code === 0 ? 'running' : 'stopped'),
        ...(c.kill ? { kill: () => must(fill(c.kill!), `kill command of broker ${brokerId}`) } : {}),
      };
    }
  }
}
