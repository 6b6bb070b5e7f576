/** Migration workflows: online (mirror, gated cut-over) and offline (log dirs through the repository). */
export { migration } from './online';
export { offlineMigration } from './offline';
