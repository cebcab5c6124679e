// The screens of the app and their hash paths. Paths are part of the contract with the
// end-to-end tests and with links in other screens, so they only ever get added to.

export type RouteId = "setup" | "lock" | "home" | "admin" | "family" | "about" | "patients" | "patient";

export interface RouteDef {
  readonly id: RouteId;
  readonly path: `/${string}`;
  /** Short label for the navigation bar. */
  readonly label: string;
  /** Window title and screen name for assistive technology. */
  readonly title: string;
  /** "kiosk" screens hide the navigation: they face residents and visitors. */
  readonly chrome: "full" | "kiosk";
  /** False for screens reached from another screen (one patient), not from the nav bar. */
  readonly nav?: false;
}

export const ROUTES: readonly RouteDef[] = [
  { id: "setup", path: "/setup", label: "Setup", title: "Set up this device", chrome: "full" },
  { id: "lock", path: "/lock", label: "Sign in", title: "Tap your badge", chrome: "full" },
  { id: "home", path: "/home", label: "Home", title: "Nurse home", chrome: "full" },
  { id: "admin", path: "/admin", label: "Admin", title: "Admin console", chrome: "full" },
  { id: "family", path: "/family", label: "Family", title: "Family welcome", chrome: "kiosk" },
  { id: "about", path: "/about", label: "About", title: "About this device", chrome: "full" },
  { id: "patients", path: "/patients", label: "Residents", title: "Residents", chrome: "full" },
  // ":id" matches one path segment; the screen receives it in `params`.
  { id: "patient", path: "/patients/:id", label: "Resident", title: "Resident", chrome: "full", nav: false },
];

/** The routes shown in the navigation bar. */
export const NAV_ROUTES: readonly RouteDef[] = ROUTES.filter((route) => route.nav !== false);

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
  return matchRoute(path)?.route;
}

export interface RouteMatch {
  readonly route: RouteDef;
  /** Values of the route's ":name" segments, decoded. */
  readonly params: Record<string, string>;
}

/** The route for a path and its parameters: "/patients/12" → patient, {id: "12"}. */
export function matchRoute(path: string): RouteMatch | undefined {
  const segments = path.split("/");
  for (const route of ROUTES) {
    const pattern = route.path.split("/");
    if (pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matches = pattern.every((part, i) => {
      const segment = segments[i] ?? "";
      if (part.startsWith(":")) {
        if (!segment) return false;
        try {
          params[part.slice(1)] = decodeURIComponent(segment);
        } catch {
          return false;
        }
        return true;
      }
      return part === segment;
    });
    if (matches) return { route, params };
  }
  return undefined;
}

/** The link to one patient's view. */
export function patientHref(id: number): string {
  return `#/patients/${id}`;
}

export function hrefFor(id: RouteId): string {
  const route = ROUTES.find((candidate) => candidate.id === id);
  return `#${route?.path ?? "/"}`;
}
