// Which language the screens show, from what Rust says: the device's language (in the
// status bar's data) and the signed-in person's own (in the session). The person's wins
// while their session is open, else the device's, else English (see i18n/index.svelte.ts).
// And the two choices, through the commands that keep them: the device's in its data
// directory, the person's in the session, the device's copy of the staff and their account.

import { commands, type AppError, type AppStatus, type SessionState } from "./bindings";
import { setDeviceLanguage, setUserLanguage, type Language } from "./i18n/index.svelte";
import { call, type Result } from "./ipc";

/** Shows the device's language from the status (`app_status`, the status event). */
export function applyStatusLanguage(status: Pick<AppStatus, "language"> | null | undefined): void {
  setDeviceLanguage(status?.language);
}

/**
 * Shows the signed-in person's own language from the session (`session_state`, the session
 * event); nobody signed in, or no language of their own: the device's.
 */
export function applySessionLanguage(session: Pick<SessionState, "user"> | null | undefined): void {
  setUserLanguage(session?.user?.language ?? null);
}

/** Sets this device's language (no session needed) and shows it. */
export async function chooseDeviceLanguage(language: Language): Promise<Result<AppStatus, AppError>> {
  const result = await call(() => commands.setDeviceLanguage(language));
  if (result.status === "ok") applyStatusLanguage(result.data);
  return result;
}

/**
 * Sets the signed-in person's own language (`null`: the device's) and shows it. `OFFLINE`
 * means it was kept on this device only (the server could not be reached): it is shown all
 * the same, and the caller says it was not saved for their account.
 */
export async function chooseMyLanguage(language: Language | null): Promise<Result<SessionState, AppError>> {
  const result = await call(() => commands.setMyLanguage(language));
  if (result.status === "ok") applySessionLanguage(result.data);
  else if (result.error.code === "OFFLINE") setUserLanguage(language);
  return result;
}

/** Whether a failed `chooseMyLanguage` still changed the language on this device. */
export function savedOnThisDeviceOnly(result: Result<unknown, AppError>): boolean {
  return result.status === "error" && result.error.code === "OFFLINE";
}
