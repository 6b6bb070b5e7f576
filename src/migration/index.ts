/** Online migration's domain: pre-checks, the write fence, group cut-over, client-switch hooks, verification. */
export * from './checks';
export * from './fence';
export * from './groups';
export * from './hooks';
export * from './verify';
