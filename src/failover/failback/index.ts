export * from './run.pure';
export { failbackChecks } from './checks';
export { invertRuns, seedReverseMirror } from './seed';
export { quarantineTail, type TailOptions } from './tail';
