// One call path for every Tauri command: always resolves to a Result, never throws.

import type { AppError } from "./bindings";
import { toAppError } from "./errors";

/**
 * The result shape of the generated commands, declared here rather than imported: the
 * generator may inline it instead of exporting a `Result` type.
 */
export type Result<T, E> = { status: "ok"; data: T } | { status: "error"; error: E };

/**
 * Runs a generated command and folds thrown JavaScript errors (no backend, a bug in a
 * binding) into the same `{status: "error"}` branch as errors returned by Rust.
 */
export async function call<T>(command: () => Promise<Result<T, AppError>>): Promise<Result<T, AppError>> {
  try {
    const result = await command();
    if (result.status === "error") return { status: "error", error: toAppError(result.error) };
    return result;
  } catch (thrown) {
    return { status: "error", error: toAppError(thrown) };
  }
}

/**
 * Tauri's unlisten is typed `() => void` but is async underneath; a failure there (the
 * window is already closing) must not surface as an unhandled rejection.
 */
export function release(unlisten: () => void): void {
  try {
    void Promise.resolve(unlisten() as unknown).catch(() => undefined);
  } catch {
    // Nothing to release.
  }
}

/**
 * Listens to a pushed event until the returned cleanup runs (an effect's teardown). A
 * subscription that resolves after the cleanup is released at once; without an event
 * bridge (a plain browser) nothing is heard and nothing fails.
 */
export function subscribe<T>(
  event: { listen: (handler: (e: { payload: T }) => void) => Promise<() => void> },
  handler: (payload: T) => void,
): () => void {
  let unlisten: (() => void) | undefined;
  let dropped = false;
  event
    .listen((e) => handler(e.payload))
    .then((stop) => (dropped ? release(stop) : (unlisten = stop)))
    .catch(() => undefined);
  return () => {
    dropped = true;
    if (unlisten) release(unlisten);
  };
}
