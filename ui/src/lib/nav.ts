// What the top bar offers: the navigation routes this device's profile, enrollment and
// session allow. A link the device cannot use is not offered at all (setup on an enrolled
// device only bounces back to the lock screen), and a wall kiosk keeps to what people at a
// kiosk need, so its bar fits an 800 px wide panel on one line.

import type { Profile } from "./bindings";
import { NAV_ROUTES, type RouteDef, type RouteId } from "./routes";

/** Screens with resident data: only for a completely signed-in user (not a locked screen, not a pending PIN). */
export const CLINICAL_ROUTES: ReadonlySet<RouteId> = new Set(["home", "patients", "patient"]);

/** Reached on a desk, not at a wall kiosk: the admin console's tables and forms. */
const DESK_ONLY: ReadonlySet<RouteId> = new Set(["admin"]);

export interface NavContext {
  /** The device profile; null until the app has asked for it (treated as a desktop). */
  profile: Profile | null;
  /** The device's enrollment is active: setup has nothing left to do here. */
  enrolled: boolean;
  /** A user is completely signed in (not locked, no PIN pending). */
  signedIn: boolean;
}

/** The top bar's destinations, in the route table's order. */
export function navRoutes({ profile, enrolled, signedIn }: NavContext): RouteDef[] {
  return NAV_ROUTES.filter((route) => {
    if (CLINICAL_ROUTES.has(route.id)) return signedIn;
    if (route.id === "lock") return !signedIn;
    if (route.id === "setup") return !enrolled;
    if (DESK_ONLY.has(route.id)) return profile !== "kiosk";
    return true;
  });
}
