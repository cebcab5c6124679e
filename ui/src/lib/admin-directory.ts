// Wording and small rules of the admin console's directory (organizations, facilities,
// staff, badges), kept out of the components so each can be tested alone. Field rules
// themselves live in Rust; nothing here decides whether a value is valid.

import { DOMAIN_RULES, type AdminUser, type AppError, type CaptureOutcome_Serialize as CaptureOutcome, type BadgeSummary, type DeviceProtectionMinimum, type FacilityType, type OrganizationType, type PolicyRanges, type Role, type StaffMember } from "./bindings";
import { facilityTypeName, organizationTypeName, roleName } from "./format";
import { t } from "./i18n/index.svelte";

// Names are getters that translate when read, so a template showing `option.name` follows
// a change of language while the screen is open.

/** A facility type and its name in the shown language. */
export interface FacilityTypeOption {
  code: FacilityType;
  readonly name: string;
}

function facilityType(code: FacilityType): FacilityTypeOption {
  return {
    code,
    get name() {
      return facilityTypeName(code);
    },
  };
}

export const FACILITY_TYPES: readonly FacilityTypeOption[] = (["ALF", "MEMORY_CARE", "SNF", "HOSPICE", "HOME_HEALTH"] as const).map(facilityType);

/** An organization type and its name in the shown language. */
export interface OrganizationTypeOption {
  code: OrganizationType;
  readonly name: string;
}

function organizationType(code: OrganizationType): OrganizationTypeOption {
  return {
    code,
    get name() {
      return organizationTypeName(code);
    },
  };
}

export const ORGANIZATION_TYPES: readonly OrganizationTypeOption[] = (
  ["ALF_OPERATOR", "MEMORY_CARE_GROUP", "SNF_CHAIN", "HOME_HEALTH_AGENCY", "MULTI_SITE_SYSTEM"] as const
).map(organizationType);

/** A role and the name people use for it, in the shown language. */
export interface RoleOption {
  code: Role;
  readonly name: string;
}

function roleOption(code: Role): RoleOption {
  return {
    code,
    get name() {
      return roleName(code);
    },
  };
}

/** Roles in the order of their reach, with the names people use for them. */
export const ROLES: readonly RoleOption[] = (
  ["RN", "LPN", "CNA", "MED_TECH", "THERAPIST", "SOCIAL_WORKER", "FACILITY_ADMIN", "ORG_ADMIN", "PLATFORM_ADMIN"] as const satisfies readonly Role[]
).map(roleOption);

/**
 * The roles `admin` may give, in the order of `ROLES` (tend-domain `Role::may_assign`,
 * the rule the server applies, via the bindings' DOMAIN_RULES).
 */
export function assignableRoles(admin: Role): Role[] {
  const grant = DOMAIN_RULES.assignable_roles.find((g) => g.role === admin);
  const allowed = new Set<Role>(grant?.assigns ?? []);
  return ROLES.map((r) => r.code).filter((code) => allowed.has(code));
}

/** Organization and platform administrators create and edit facilities. */
export function canManageFacilities(admin: AdminUser): boolean {
  return admin.role === "ORG_ADMIN" || admin.role === "PLATFORM_ADMIN";
}

/**
 * A facility administrator changes their own facility's policy alone (the API lets them send
 * `policy` and nothing else); organization administrators and above edit the whole facility.
 */
export function canEditFacilityPolicy(admin: AdminUser, facilityId: number): boolean {
  return admin.role === "FACILITY_ADMIN" && admin.facility_id === facilityId;
}

/** Only platform administrators create organizations, change any, and open or close one. */
export function canManageOrganizations(admin: AdminUser): boolean {
  return admin.role === "PLATFORM_ADMIN";
}

/** Organization administrators also edit their own organization's details. */
export function canEditOwnOrganization(admin: AdminUser): boolean {
  return admin.role === "ORG_ADMIN" || admin.role === "PLATFORM_ADMIN";
}

/** A facility's minimum device protection, in words an administrator decides by. */
export interface ProtectionOption {
  value: DeviceProtectionMinimum;
  readonly name: string;
  readonly explanation: string;
}

function protection(value: DeviceProtectionMinimum): ProtectionOption {
  return {
    value,
    get name() {
      return t(`directory.protection.${value}.name`);
    },
    get explanation() {
      return t(`directory.protection.${value}.explanation`);
    },
  };
}

export const PROTECTION_MINIMUMS: readonly ProtectionOption[] = (["encrypted", "off_disk", "any"] as const).map(protection);

/** A facility feature an administrator can switch, with what it turns on. */
export interface FeatureOption {
  key: "family_portal" | "behavior_tracking" | "wandering_alerts";
  readonly name: string;
  readonly explanation: string;
}

function feature(key: FeatureOption["key"]): FeatureOption {
  return {
    key,
    get name() {
      return t(`directory.features.${key}.name`);
    },
    get explanation() {
      return t(`directory.features.${key}.explanation`);
    },
  };
}

/** Facility features an administrator can switch, with what each one turns on. */
export const FEATURES: readonly FeatureOption[] = (["family_portal", "behavior_tracking", "wandering_alerts"] as const).map(feature);

/** Lower-case text for searching a staff member by name, username, employee ID or email. */
function haystack(member: StaffMember): string {
  return [member.full_name, member.username, member.employee_id, member.email ?? ""].join(" ").toLowerCase();
}

export interface StaffFilter {
  search: string;
  role: Role | "";
  /** "active" hides deactivated accounts. */
  status: "active" | "all" | "inactive";
}

/** The staff matching every word of the search, the role and the status; sorted by name. */
export function filterStaff<T extends StaffMember>(staff: readonly T[], filter: StaffFilter): T[] {
  const words = filter.search.toLowerCase().split(/\s+/).filter(Boolean);
  return staff
    .filter((m) => {
      if (filter.role && m.role !== filter.role) return false;
      if (filter.status === "active" && !m.is_active) return false;
      if (filter.status === "inactive" && m.is_active) return false;
      const text = haystack(m);
      return words.every((w) => text.includes(w));
    })
    .sort((a, b) => a.full_name.localeCompare(b.full_name));
}

/** One phrase for a badge's state: revoked wins over locked. */
export function badgeStatus(badge: BadgeSummary, now: Date = new Date()): string {
  if (!badge.is_active) return t("directory.badgeStatus.revoked");
  if (badge.locked_until && new Date(badge.locked_until).getTime() > now.getTime()) {
    return t("directory.badgeStatus.locked");
  }
  return t("directory.badgeStatus.active");
}

/**
 * Words for a refused badge assignment where the code's general copy would mislead
 * (`CONFLICT` there means "someone else changed this"); `undefined` keeps the general copy.
 */
export function badgeAssignError(error: AppError): string | undefined {
  if (error.code === "CONFLICT") return t("directory.capture.alreadyAssigned");
  return undefined;
}

/** What a wedge read the capture could not use says (never the value it read). */
export function wedgeNotABadge(): string {
  return t("directory.capture.wedgeNotABadge");
}

/** How a "tap a badge" wait ended without an assignment, in words (`null` for an assignment). */
export function captureEndedMessage(outcome: CaptureOutcome): string | null {
  switch (outcome.outcome) {
    case "assigned":
      return null;
    case "cancelled":
      return t("directory.capture.cancelled");
    case "timed_out":
      return t("directory.capture.timedOut", { count: outcome.seconds });
    case "session_ended":
      return t("directory.capture.sessionEnded");
    case "unsupported_card":
      return t("directory.capture.unsupportedCard");
  }
}

/** A facility's PIN length rule (its policy), or the domain's when the facility is not known. */
export interface PinLength {
  pin_min_digits: number;
  pin_max_digits: number;
}

/**
 * The PIN rules in words for a facility: its policy's lengths (checked by the API), the
 * domain's when no policy is known (DOMAIN_RULES, Rust's one PIN check).
 */
export function pinRules(policy?: PinLength | null): string {
  const min = policy?.pin_min_digits ?? DOMAIN_RULES.pin.min_digits;
  const max = policy?.pin_max_digits ?? DOMAIN_RULES.pin.max_digits;
  return min === max ? t("directory.pinRules.exact", { count: min }) : t("directory.pinRules.range", { min, max });
}

/** A number of a facility's policy, as the console's Policy part shows it. */
export interface PolicyField {
  key: keyof PolicyRanges;
  readonly label: string;
  /** The unit in words, plural. */
  readonly unit: string;
  readonly explanation: string;
}

type PolicyUnit = "seconds" | "hours" | "digits" | "minutes" | "days";

function policyField(key: keyof PolicyRanges, unit: PolicyUnit): PolicyField {
  return {
    key,
    get label() {
      return t(`directory.policy.fields.${key}.label`);
    },
    get unit() {
      return t(`directory.policy.units.${unit}`);
    },
    get explanation() {
      return t(`directory.policy.fields.${key}.explanation`);
    },
  };
}

/** A group of the facility policy's numbers, with its title in the shown language. */
export interface PolicyGroup {
  readonly title: string;
  fields: readonly PolicyField[];
}

function policyGroup(group: "screenLock" | "badges" | "nurseHome" | "family", fields: PolicyField[]): PolicyGroup {
  return {
    get title() {
      return t(`directory.policy.groups.${group}`);
    },
    fields,
  };
}

/** The facility policy's numbers in the console's order, grouped by what they govern. */
export const POLICY_GROUPS: readonly PolicyGroup[] = [
  policyGroup("screenLock", [policyField("idle_lock_kiosk_secs", "seconds"), policyField("idle_lock_desktop_secs", "seconds")]),
  policyGroup("badges", [
    policyField("badge_grace_hours", "hours"),
    policyField("badge_reauth_hours", "hours"),
    policyField("pin_min_digits", "digits"),
    policyField("pin_max_digits", "digits"),
  ]),
  policyGroup("nurseHome", [
    policyField("due_soon_minutes", "minutes"),
    policyField("handoff_hours", "hours"),
    policyField("documentation_window_days", "days"),
  ]),
  policyGroup("family", [policyField("family_session_secs", "seconds")]),
];

/** The policy's numbers by wire name, in the console's order. */
export const POLICY_KEYS: readonly (keyof PolicyRanges)[] = POLICY_GROUPS.flatMap((group) => group.fields.map((field) => field.key));

/** A policy as the form types it: each number as text; absent (a new facility) starts at the defaults. */
export function typedPolicy(policy: Record<keyof PolicyRanges, number> | null | undefined): Record<keyof PolicyRanges, string> {
  return Object.fromEntries(POLICY_KEYS.map((key) => [key, String(policy?.[key] ?? DOMAIN_RULES.facility_policy[key].default)])) as Record<
    keyof PolicyRanges,
    string
  >;
}

/** A policy number's allowed range in words (from Rust, via DOMAIN_RULES). */
export function policyRange(field: PolicyField): string {
  const range = DOMAIN_RULES.facility_policy[field.key];
  return t("directory.policy.range", { min: range.min, max: range.max, unit: field.unit, default: range.default });
}

/** The password rule in words (tend-domain `MIN_PASSWORD_LEN`, via DOMAIN_RULES). */
export function passwordRule(): string {
  return t("directory.passwordRule", { count: DOMAIN_RULES.password.min_length });
}

/** A typed value becomes the form's text (`null` shows as empty). */
export function text(value: string | number | null | undefined): string {
  return value === null || value === undefined ? "" : String(value);
}
