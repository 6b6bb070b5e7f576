/** Client-switch hooks (the target spec's clientSwitch list). */
import type { ClientSwitchHook, ClusterSpec } from '../config/spec';

export type { ClientSwitchHook } from '../config/spec';
export interface HookOutcome { index: number; type: string; description: string; dryRun: boolean; ok: boolean; detail: string; previous?: string | null }
export interface HookContext { source: ClusterSpec; target: ClusterSpec }

export async function runSwitchHooks(_hooks: ClientSwitchHook[], _ctx: HookContext, _opts: { dryRun?: boolean } = {}): Promise<HookOutcome[]> {
  throw new Error('not yet');
}

export async function revertSwitchHooks(_hooks: ClientSwitchHook[], _outcomes: HookOutcome[], _ctx: HookContext): Promise<HookOutcome[]> {
  throw new Error('not yet');
}
