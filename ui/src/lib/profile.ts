// Applies the device profile to the document so CSS can switch to the kiosk scale.

import type { Profile } from "./bindings";

export function applyProfile(profile: Profile, root: HTMLElement = document.documentElement): void {
  if (profile === "kiosk") root.dataset.profile = "kiosk";
  else delete root.dataset.profile;
}
