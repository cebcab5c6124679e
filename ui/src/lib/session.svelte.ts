// The lock screen's session as Rust sees it (tend-core `login`): who is signed in, whether
// the screen is locked, a PIN asked for, a tap being checked. Rust pushes every change
// (`sessionChanged`), PC/SC taps included; this keeps a copy for a screen and sends the
// screen's own actions. The user's token never reaches the webview.

import { wedgeConfigFrom, type WedgeConfig } from "./badge/wedge";
import { commands, events, type AppError, type ReaderStatus, type SessionState } from "./bindings";
import { call, subscribe, type Result } from "./ipc";

/** How often, at most, the window tells Rust the user is active (the idle lock counts from it). */
export const ACTIVITY_REPORT_MS = 5_000;

export class SessionWatcher {
  state = $state<SessionState | null>(null);
  reader = $state<ReaderStatus>("unknown");
  /** A command's own error (bad input, no backend); refusals arrive in `state.failure`. */
  error = $state<AppError | null>(null);
  /** The keyboard-wedge reader's configured format; the recognizer's defaults until known. */
  wedgeFormat = $state<Partial<WedgeConfig>>({});
  #stops: (() => void)[] = [];

  /** Loads the current state and follows pushed changes until `stop`. */
  start(): void {
    this.stop();
    this.#stops.push(subscribe(events.sessionChanged, (s) => (this.state = s)));
    this.#stops.push(subscribe(events.readerStatusChanged, (r) => (this.reader = r)));
    void call(() => commands.sessionState()).then((r) => {
      if (r.status === "ok" && this.state === null) this.state = r.data;
    });
    void call(() => commands.readerStatus()).then((r) => {
      if (r.status === "ok") this.reader = r.data;
    });
    void call(() => commands.appInfo()).then((r) => {
      if (r.status === "ok") this.wedgeFormat = wedgeConfigFrom(r.data.wedge);
    });
  }

  stop(): void {
    for (const stop of this.#stops.splice(0)) stop();
  }

  /** Asks Rust for the session again (the copy here may be stale, e.g. after a NOT_SIGNED_IN). */
  refresh(): void {
    void call(() => commands.sessionState()).then((r) => {
      if (r.status === "ok") this.state = r.data;
    });
  }

  async #apply(command: () => Promise<Result<SessionState, AppError>>): Promise<void> {
    this.error = null;
    const result = await call(command);
    if (result.status === "ok") this.state = result.data;
    else this.error = result.error;
  }

  /** A keyboard-wedge read: "Reading badge…" shows at once, before Rust answers. */
  wedge(value: string): Promise<void> {
    this.state = { phase: "verifying", user: this.state?.user ?? null, failure: null, idle_lock_ms: this.state?.idle_lock_ms ?? 0, offline: this.state?.offline ?? false };
    return this.#apply(() => commands.badgeLoginWedge(value));
  }

  submitPin(pin: string): Promise<void> {
    return this.#apply(() => commands.submitPin(pin));
  }

  cancelPin(): Promise<void> {
    return this.#apply(() => commands.cancelPin());
  }

  password(username: string, password: string): Promise<void> {
    return this.#apply(() => commands.passwordLogin(username, password));
  }

  lock(): Promise<void> {
    return this.#apply(() => commands.lockNow());
  }

  logout(): Promise<void> {
    return this.#apply(() => commands.logout());
  }
}

/**
 * Reports pointer and key activity to Rust at most every `ACTIVITY_REPORT_MS` (the idle
 * lock counts from the last report). Returns the function that stops listening.
 */
export function reportActivity(target: EventTarget, everyMs: number = ACTIVITY_REPORT_MS): () => void {
  let last = -Infinity;
  const onActivity = (): void => {
    const now = Date.now();
    if (now - last < everyMs) return;
    last = now;
    void call(() => commands.sessionActivity());
  };
  const kinds = ["pointerdown", "keydown", "wheel", "touchstart"];
  for (const kind of kinds) target.addEventListener(kind, onActivity, { passive: true, capture: true });
  return () => {
    for (const kind of kinds) target.removeEventListener(kind, onActivity, { capture: true });
  };
}
