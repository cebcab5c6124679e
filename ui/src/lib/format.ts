// Wording for sync and connection state, kept out of components so it can be tested alone.

import type { AppStatus, ClosedNotice, ConnectionState, DeviceType, ErrorCode, FacilityType, HeldNotice, OrganizationType, Role } from "./bindings";
import { currentLanguage, formatShortDate, formatTime, t } from "./i18n/index.svelte";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "Synced just now", "Synced 5 minutes ago", … or "Never synced", in the language shown. */
export function formatLastSync(lastSync: string | null, now: Date = new Date()): string {
  if (!lastSync) return t("status.lastSync.never");
  const at = new Date(lastSync);
  if (Number.isNaN(at.getTime())) return t("status.lastSync.unknown");
  const age = now.getTime() - at.getTime();
  // A clock a little ahead of the server still reads as "just now".
  if (age < MINUTE) return t("status.lastSync.justNow");
  if (age < HOUR) return t("status.lastSync.minutesAgo", { count: Math.floor(age / MINUTE) });
  if (age < DAY) return t("status.lastSync.hoursAgo", { count: Math.floor(age / HOUR) });
  // The date and time at the facility.
  return t("status.lastSync.at", { date: formatShortDate(at), time: formatTime(at) });
}

/** "Nothing waiting to sync" or "3 changes waiting to sync". */
export function formatPending(pending: number): string {
  if (!Number.isFinite(pending) || pending <= 0) return t("status.pending.nothing");
  return t("status.pending.changes", { count: pending });
}

export function connectionLabel(connection: ConnectionState): string {
  switch (connection) {
    case "online":
      return t("common.states.online");
    case "offline":
      return t("common.states.offline");
    case "not_configured":
      return t("status.connection.notConfigured");
  }
}

/** The host of a server URL for compact display, or the URL itself when it doesn't parse. */
export function serverHost(url: string | null): string | null {
  if (!url) return null;
  try {
    return new URL(url).host || url;
  } catch {
    return url;
  }
}

/** English-only "3 changes" (kept for the admin wording that still uses it; translated text uses plural keys). */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/**
 * What the status bar says when the server ended this device's enrollment without a
 * signed order: the device is locked, nothing was deleted, and an administrator can
 * take it back (re-adopt it) by its hardware ID.
 */
export function heldMessage(held: HeldNotice): { title: string; detail: string } {
  const device = held.device_uuid;
  const title = t("status.held.title");
  if (held.code === "DEVICE_UNKNOWN") return { title, detail: t("status.held.unknown", { device }) };
  const rejected = held.code === "DEVICE_REJECTED";
  switch (held.reason) {
    case "unsigned":
      return { title, detail: rejected ? t("status.held.rejected", { device }) : t("status.held.deactivated", { device }) };
    case "no_pinned_key":
      return { title, detail: rejected ? t("status.held.rejectedNoKey", { device }) : t("status.held.deactivatedNoKey", { device }) };
    default:
      return {
        title,
        detail: rejected ? t("status.held.rejectedOtherServer", { device }) : t("status.held.deactivatedOtherServer", { device }),
      };
  }
}

/** A closed facility's or organization's title: the core's (English) words, or the shown language's. */
function closedTitle(closed: ClosedNotice): string {
  if (currentLanguage() === "en" && closed.message.trim()) return closed.message;
  if (closed.code === "FACILITY_CLOSED") return t("status.closed.facility");
  if (closed.code === "ORGANIZATION_CLOSED") return t("status.closed.organization");
  return closed.message;
}

/** A device-level alert the status bar shows above everything else. */
export interface DeviceAlert {
  testid: string;
  code: ErrorCode | null;
  title: string;
  detail: string;
}

/**
 * What stops this device from working normally, in the order the status bar shows it:
 * a vault waiting for the server's part of its key, an enrollment the server ended
 * without a signed order, a closed facility (its English words come from the core).
 */
export function deviceAlerts(status: AppStatus | null): DeviceAlert[] {
  const alerts: DeviceAlert[] = [];
  if (status?.vault === "waiting_for_network") {
    alerts.push({
      testid: "status-vault-waiting",
      code: null,
      title: t("status.vaultWaiting.title"),
      detail: t("status.vaultWaiting.detail"),
    });
  }
  if (status?.held) {
    alerts.push({ testid: "status-held", code: status.held.code, ...heldMessage(status.held) });
  }
  if (status?.closed) {
    alerts.push({
      testid: "status-closed",
      code: status.closed.code,
      title: closedTitle(status.closed),
      detail: t("status.closed.detail"),
    });
  }
  return alerts;
}

// Names of the generated enums, shared by every screen (`common.*` keys). Exhaustive on
// purpose: a new Role, FacilityType, OrganizationType or DeviceType in bindings.ts does not
// compile here until common.json names it.
const ROLE_KEYS = {
  RN: "common.roles.RN",
  LPN: "common.roles.LPN",
  CNA: "common.roles.CNA",
  MED_TECH: "common.roles.MED_TECH",
  THERAPIST: "common.roles.THERAPIST",
  SOCIAL_WORKER: "common.roles.SOCIAL_WORKER",
  FACILITY_ADMIN: "common.roles.FACILITY_ADMIN",
  ORG_ADMIN: "common.roles.ORG_ADMIN",
  PLATFORM_ADMIN: "common.roles.PLATFORM_ADMIN",
} as const satisfies Record<Role, `common.roles.${Role}`>;

const FACILITY_TYPE_KEYS = {
  ALF: "common.facilityTypes.ALF",
  MEMORY_CARE: "common.facilityTypes.MEMORY_CARE",
  SNF: "common.facilityTypes.SNF",
  HOSPICE: "common.facilityTypes.HOSPICE",
  HOME_HEALTH: "common.facilityTypes.HOME_HEALTH",
} as const satisfies Record<FacilityType, `common.facilityTypes.${FacilityType}`>;

const ORGANIZATION_TYPE_KEYS = {
  ALF_OPERATOR: "common.organizationTypes.ALF_OPERATOR",
  MEMORY_CARE_GROUP: "common.organizationTypes.MEMORY_CARE_GROUP",
  SNF_CHAIN: "common.organizationTypes.SNF_CHAIN",
  HOME_HEALTH_AGENCY: "common.organizationTypes.HOME_HEALTH_AGENCY",
  MULTI_SITE_SYSTEM: "common.organizationTypes.MULTI_SITE_SYSTEM",
} as const satisfies Record<OrganizationType, `common.organizationTypes.${OrganizationType}`>;

const DEVICE_TYPE_KEYS = {
  WORKSTATION: "common.deviceTypes.WORKSTATION",
  LAPTOP: "common.deviceTypes.LAPTOP",
  TABLET: "common.deviceTypes.TABLET",
  RASPBERRY_PI: "common.deviceTypes.RASPBERRY_PI",
  BADGE_READER: "common.deviceTypes.BADGE_READER",
} as const satisfies Record<DeviceType, `common.deviceTypes.${DeviceType}`>;

type NameKey =
  | (typeof ROLE_KEYS)[Role]
  | (typeof FACILITY_TYPE_KEYS)[FacilityType]
  | (typeof ORGANIZATION_TYPE_KEYS)[OrganizationType]
  | (typeof DEVICE_TYPE_KEYS)[DeviceType];

/** The words for `code` from one of the tables above; a code this build does not know, as itself. */
function nameIn<Code extends string>(table: Readonly<Record<Code, NameKey>>, code: Code): string {
  const key: NameKey | undefined = table[code];
  return key ? t(key) : code;
}

/** "Registered nurse (RN)" / "Enfermero/a registrado/a (RN)"; an unknown code as itself. */
export function roleName(role: Role): string {
  return nameIn(ROLE_KEYS, role);
}

/** "Memory care" / "Cuidado de la memoria"; an unknown code as itself. */
export function facilityTypeName(type: FacilityType): string {
  return nameIn(FACILITY_TYPE_KEYS, type);
}

/** "Skilled nursing chain"; "Type not set" for an organization created without one. */
export function organizationTypeName(type: OrganizationType | null | undefined): string {
  return type == null ? t("common.organizationTypes.notSet") : nameIn(ORGANIZATION_TYPE_KEYS, type);
}

/** "Tablet" / "Tableta"; an unknown code as itself. */
export function deviceTypeName(type: DeviceType): string {
  return nameIn(DEVICE_TYPE_KEYS, type);
}
