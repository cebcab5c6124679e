// The app shares one SessionWatcher with its screens; a screen rendered alone (a
// component test) starts its own.

import { getContext, onDestroy, setContext } from "svelte";
import { SessionWatcher } from "./session.svelte";

const KEY = Symbol("session");

/** Called by the app shell: its watcher serves every screen. */
export function provideSession(watcher: SessionWatcher): void {
  setContext(KEY, watcher);
}

/** The shell's watcher, or a new one for this component's lifetime. */
export function useSession(): SessionWatcher {
  const shared = getContext<SessionWatcher | undefined>(KEY);
  if (shared) return shared;
  const own = new SessionWatcher();
  own.start();
  onDestroy(() => own.stop());
  return own;
}
