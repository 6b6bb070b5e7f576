/** Offline migration (ZooKeeper → ZooKeeper): plan, source capture, copies, target restore and metadata, verification. */
export * from './plan.pure';
export * from './plan';
export * from './copies';
export * from './restore';
export * from './metadata';
export * from './verify';
