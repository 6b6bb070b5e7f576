/**
 * Errors a user can act on. Each has a stable `type` (it becomes the Temporal failure type, so
 * workflows and the UI can tell them apart), a CLI exit code, and whether a retry can help.
 * Anything that is not a LifeboatError is treated as transient (retried) by activities.
 */
export const EXIT = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  /** Finished, but something was skipped or differs (e.g. a check found problems, a verify failed). */
  PARTIAL: 3,
  REPOSITORY_NOT_FOUND: 10,
  LOCKED: 11,
  WRONG_PASSWORD: 12,
  INTEGRITY: 13,
  NOT_FOUND: 14,
  UNSAFE_TARGET: 15,
  REJECTED: 16,
  INVALID_SPEC: 17,
  UNREACHABLE: 18,
  /** A client-switch hook (registry node, command, bootstrap file) failed at a cut-over. */
  HOOK_FAILED: 19,
} as const;

export type ErrorType =
  | 'InvalidSpec'
  | 'InvalidInput'
  | 'WrongPassword'
  | 'RepositoryNotFound'
  | 'RepositoryFormat'
  | 'CorruptBackup'
  | 'SnapshotNotFound'
  | 'WorkflowNotFound'
  | 'UnsafeTarget'
  | 'ApprovalRejected'
  | 'Locked'
  | 'Unreachable'
  | 'ClusterIdMismatch'
  /** Source records were deleted (retention, a recreated topic) before they could be copied. */
  | 'DataLost'
  /** A client-switch hook failed (the message names it); what ran before it can be reverted. */
  | 'HookFailed'
  /** Topics listed a moment before were deleted while a step read them: a retry lists them again. */
  | 'TopicDeleted';

const EXIT_BY_TYPE: Record<ErrorType, number> = {
  InvalidSpec: EXIT.INVALID_SPEC,
  InvalidInput: EXIT.USAGE,
  WrongPassword: EXIT.WRONG_PASSWORD,
  RepositoryNotFound: EXIT.REPOSITORY_NOT_FOUND,
  RepositoryFormat: EXIT.ERROR,
  CorruptBackup: EXIT.INTEGRITY,
  SnapshotNotFound: EXIT.NOT_FOUND,
  WorkflowNotFound: EXIT.NOT_FOUND,
  UnsafeTarget: EXIT.UNSAFE_TARGET,
  ApprovalRejected: EXIT.REJECTED,
  Locked: EXIT.LOCKED,
  Unreachable: EXIT.UNREACHABLE,
  ClusterIdMismatch: EXIT.UNSAFE_TARGET,
  DataLost: EXIT.INTEGRITY,
  HookFailed: EXIT.HOOK_FAILED,
  TopicDeleted: EXIT.NOT_FOUND,
};

export const isErrorType = (t: unknown): t is ErrorType => typeof t === 'string' && t in EXIT_BY_TYPE;

/** Types a retry cannot fix; everything else (including Locked, Unreachable) is retried with backoff. */
export const NON_RETRYABLE: readonly ErrorType[] = [
  'InvalidSpec',
  'InvalidInput',
  'WrongPassword',
  'RepositoryNotFound',
  'RepositoryFormat',
  'CorruptBackup',
  'SnapshotNotFound',
  'WorkflowNotFound',
  'UnsafeTarget',
  'ApprovalRejected',
  'ClusterIdMismatch',
  'DataLost',
  'HookFailed',
];

export class LifeboatError extends Error {
  constructor(
    readonly type: ErrorType,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = type;
  }

  get exitCode(): number {
    return EXIT_BY_TYPE[this.type];
  }

  get retryable(): boolean {
    return !NON_RETRYABLE.includes(this.type);
  }
}

export const isLifeboatError = (e: unknown): e is LifeboatError => e instanceof LifeboatError;

const KAFKA_CONNECTION_ERRORS = new Set(['KafkaJSConnectionError', 'KafkaJSBrokerNotFound', 'KafkaJSConnectionClosedError']);

/**
 * Errors of the libraries underneath that have a plain meaning, as LifeboatErrors: a kafkajs
 * connection failure (also wrapped in its retry errors) is `Unreachable`. Recognised by name, so
 * this module stays free of imports (workflows use it). Anything else: undefined.
 */
export function knownError(e: unknown): LifeboatError | undefined {
  if (isLifeboatError(e)) return e;
  for (let c = e as { name?: string; message?: string; cause?: unknown; originalError?: unknown } | undefined, n = 0; c && n < 6; n++) {
    if (c.name && KAFKA_CONNECTION_ERRORS.has(c.name)) {
      return new LifeboatError('Unreachable', `cannot reach Kafka: ${c.message ?? c.name} (check kafka.bootstrapServers and that the brokers run)`);
    }
    c = (c.cause ?? c.originalError) as typeof c;
  }
  return undefined;
}
