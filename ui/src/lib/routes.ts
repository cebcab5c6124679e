// The screens of the app and their hash paths. Paths are part of the contract with the
// end-to-end tests and with links in other screens, so they only ever get added to.

export type RouteId = "setup" | "lock" | "home" | "admin" | "family" | "about";

export interface RouteDef {
  readonly id: RouteId;
  readonly path: `/${string}`;
  /** Short label for the navigation bar. */
  readonly label: string;
  /** Window title and screen name for assistive technology. */
  readonly title: string;
  /** "kiosk" screens hide the navigation: they face residents and visitors. */
  readonly chrome: "full" | "kiosk";
}

export const ROUTES: readonly RouteDef[] = [
  { id: "setup", path: "/setup", label: "Setup", title: "Set up this device", chrome: "full" },
  { id: "lock", path: "/lock", label: "Sign in", title: "Tap your badge", chrome: "full" },
  { id: "home", path: "/home", label: "Home", title: "Nurse home", chrome: "full" },
  { id: "admin", path: "/admin", label: "Admin", title: "Admin console", chrome: "full" },
  { id: "family", path: "/family", label: "Family", title: "Family welcome", chrome: "kiosk" },
  { id: "about", path: "/about", label: "About", title: "About this device", chrome: "full" },
];

/** "#/setup?x=1" → "/setup"; "", "#" and "#/" → "/". Trailing slashes are ignored. */
export function pathFromHash(hash: string): string {
  let path = hash.startsWith("#") ? hash.slice(1) : hash;
  const query = path.search(/[?]/);
  if (query !== -1) path = path.slice(0, query);
  if (!path.startsWith("/")) path = `/${path}`;
  if (path.length > 1 && path.endsWith("/")) path = path.replace(/\/+$/, "") || "/";
  return path;
}

export function findRoute(path: string): RouteDef | undefined {
  return ROUTES.find((route) => route.path === path);
}

export function hrefFor(id: RouteId): string {
  const route = ROUTES.find((candidate) => candidate.id === id);
  return `#${route?.path ?? "/"}`;
}
