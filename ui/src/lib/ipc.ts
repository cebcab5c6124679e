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
