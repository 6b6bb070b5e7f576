import { createRequire } from 'node:module';

/** Resolves a module's absolute path (an eval'd worker resolves modules from the cwd otherwise), or null. */
export function resolvePath(specifier: string): string | null {
  const attempts: (() => string)[] = [
    () => require.resolve(specifier),
    () => createRequire(__filename).resolve(specifier),
    () => createRequire(`${process.cwd()}/`).resolve(specifier),
  ];
  for (const a of attempts) {
    try {
      return a();
    } catch {
      // next
    }
  }
  return null;
}
