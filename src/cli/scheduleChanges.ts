/** What `schedule apply` and `drill schedule apply` print: one line per schedule change and the totals (or the changes as JSON). */
import type { ApplyChange } from '../temporal/schedules';
import type { Output } from './output';

const VERB: Record<ApplyChange['action'], [done: string, dryRun: string]> = {
  create: ['created', 'would create'],
  update: ['updated', 'would update'],
  unchanged: ['unchanged', 'unchanged'],
  delete: ['deleted', 'would delete'],
  extra: ['not in plan', 'not in plan'],
};

export function printScheduleChanges(out: Output, cluster: string, changes: ApplyChange[]): void {
  const count = (a: ApplyChange['action']) => changes.filter((c) => c.action === a).length;
  const totals = { created: count('create'), updated: count('update'), unchanged: count('unchanged'), deleted: count('delete'), extra: count('extra') };
  const dryRun = changes[0]?.dryRun ?? false;
  if (out.json) {
    out.result({ cluster, dryRun, ...totals, changes });
    return;
  }
  const lines = changes.map((c) => {
    const detail = c.action === 'update' ? ` (changed: ${c.changed?.join(', ')})` : c.action === 'extra' ? ' (kept; --prune deletes it)' : '';
    return `${VERB[c.action][dryRun ? 1 : 0].padEnd(12)} ${c.id}${c.description ? `  ${c.description}` : ''}${detail}`;
  });
  const sum = `${dryRun ? 'dry run: ' : ''}${totals.created} created, ${totals.updated} updated, ${totals.unchanged} unchanged, ${totals.deleted} deleted`;
  out.result({}, [...lines, sum].join('\n'));
}
