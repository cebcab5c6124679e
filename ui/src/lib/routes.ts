// The screens of the app and their hash paths. Paths are part of the contract with the
// end-to-end tests and with links in other screens, so they only ever get added to.
// Their names are `common.routes.<id>.label` / `.title` (routeLabel, routeTitle).

import { t } from "./i18n/index.svelte";

export type RouteId = "setup" | "lock" | "home" | "admin" | "family" | "about" | "patients" | "patient";

export interface RouteDef {
  readonly id: RouteId;
  readonly path: `/${string}`;
  /** "kiosk" screens hide the navigation: they face residents and visitors. */
  readonly chrome: "full" | "kiosk";
  /** False for screens reached from another screen (one patient), not from the nav bar. */
  readonly nav?: false;
}

export const ROUTES: readonly RouteDef[] = [
  { id: "setup", path: "/setup", chrome: "full" },
  { id: "lock", path: "/lock", chrome: "full" },
  { id: "home", path: "/home", chrome: "full" },
  { id: "admin", path: "/admin", chrome: "full" },
  { id: "family", path: "/family", chrome: "kiosk" },
  { id: "about", path: "/about", chrome: "full" },
  { id: "patients", path: "/patients", chrome: "full" },
  // ":id" matches one path segment; the screen receives it in `params`.
  { id: "patient", path: "/patients/:id", chrome: "full", nav: false },
];

/** Short label for the navigation bar, in the language shown. */
export function routeLabel(route: Pick<RouteDef, "id">): string {
  return t(`common.routes.${route.id}.label`);
}

/** Window title and screen name for assistive technology, in the language shown. */
export function routeTitle(route: Pick<RouteDef, "id">): string {
  return t(`common.routes.${route.id}.title`);
}

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
