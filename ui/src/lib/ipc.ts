// One call path for every Tauri command: always resolves to a Result, never throws.

import type { AppError } from "./bindings";
import { toAppError } from "./errors";

/**
 * The result shape of the generated commands, declared here rather than imported: the
 * generator may inline it instead of exporting a `Result` type.
 */
export type Result<T, E> = { status: "ok"; data: T } | { status: "error"; error: E };

type NotSignedInListener = (error: AppError) => void;
const notSignedInListeners = new Set<NotSignedInListener>();

/**
 * Hears every `NOT_SIGNED_IN` answer of any command (Rust refuses resident data unless a
 * user is completely signed in); the app shell returns to the lock screen. Returns the
 * function that stops listening.
 */
export function onNotSignedIn(listener: NotSignedInListener): () => void {
  notSignedInListeners.add(listener);
  return () => {
    notSignedInListeners.delete(listener);
  };
}

function failed(error: AppError): { status: "error"; error: AppError } {
  if (error.code === "NOT_SIGNED_IN") {
    for (const listener of notSignedInListeners) {
      try {
        listener(error);
      } catch {
        // A listener's own failure must not change the command's result.
      }
    }
  }
  return { status: "error", error };
}

/**
 * Runs a generated command and folds thrown JavaScript errors (no backend, a bug in a
 * binding) into the same `{status: "error"}` branch as errors returned by Rust.
 */
export async function call<T>(command: () => Promise<Result<T, AppError>>): Promise<Result<T, AppError>> {
  try {
    const result = await command();
    if (result.status === "error") return failed(toAppError(result.error));
    return result;
  } catch (thrown) {
    return failed(toAppError(thrown));
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
