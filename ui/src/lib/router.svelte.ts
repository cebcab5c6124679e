// A hash router: the app is loaded from disk by Tauri, so there are no server routes.

import { pathFromHash } from "./routes";

export class HashRouter {
  /** The current path, e.g. "/setup"; "/" when no screen is chosen yet. */
  path = $state("/");

  #onHashChange = (): void => {
    this.path = pathFromHash(window.location.hash);
  };

  constructor() {
    this.path = pathFromHash(window.location.hash);
    window.addEventListener("hashchange", this.#onHashChange);
  }

  /** Go to a path, adding a history entry. */
  navigate(path: string): void {
    window.location.hash = path;
    this.path = pathFromHash(path);
  }

  /** Go to a path without a history entry, so Back doesn't bounce through a redirect. */
  replace(path: string): void {
    window.history.replaceState(window.history.state, "", `#${path}`);
    this.path = pathFromHash(path);
  }

  /**
   * `replace`, but only while the location still shows `from`: a navigation already made
   * (its hashchange not yet handled) wins over a redirect decided from an older path.
   */
  replaceFrom(from: string, path: string): boolean {
    const now = pathFromHash(window.location.hash);
    if (now !== from) {
      this.path = now;
      return false;
    }
    this.replace(path);
    return true;
  }

  destroy(): void {
    window.removeEventListener("hashchange", this.#onHashChange);
  }
}
