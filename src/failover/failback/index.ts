export * from './run.pure';
export { failbackChecks } from './checks';
export { forwardPartitions, type ForwardPartition } from '../../kafka/mirror/settled';
export { invertRuns, seedReverseMirror } from './seed';
export { quarantineTail, type TailOptions } from './tail';
