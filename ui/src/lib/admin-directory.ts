// Wording and small rules of the admin console's directory (organizations, facilities,
// staff, badges), kept out of the components so each can be tested alone. Field rules
// themselves live in Rust; nothing here decides whether a value is valid.

import { DOMAIN_RULES, type AdminUser, type AppError, type CaptureOutcome_Serialize as CaptureOutcome, type BadgeSummary, type DeviceProtectionMinimum, type FacilityType, type OrganizationType, type PolicyRanges, type Role, type StaffMember } from "./bindings";

export const FACILITY_TYPES: readonly { code: FacilityType; name: string }[] = [
  { code: "ALF", name: "Assisted living (ALF)" },
  { code: "MEMORY_CARE", name: "Memory care" },
  { code: "SNF", name: "Skilled nursing (SNF)" },
  { code: "HOSPICE", name: "Hospice" },
  { code: "HOME_HEALTH", name: "Home health (no beds)" },
];

export function facilityTypeLabel(type: FacilityType): string {
  return FACILITY_TYPES.find((t) => t.code === type)?.name ?? type;
}

export const ORGANIZATION_TYPES: readonly { code: OrganizationType; name: string }[] = [
  { code: "ALF_OPERATOR", name: "Assisted living operator" },
  { code: "MEMORY_CARE_GROUP", name: "Memory care group" },
  { code: "SNF_CHAIN", name: "Skilled nursing chain" },
  { code: "HOME_HEALTH_AGENCY", name: "Home health agency" },
  { code: "MULTI_SITE_SYSTEM", name: "Multi-site health system" },
];

/** An organization created without a type (the API allows it) says so. */
export function organizationTypeLabel(type: OrganizationType | null | undefined): string {
  if (type == null) return "Type not set";
  return ORGANIZATION_TYPES.find((t) => t.code === type)?.name ?? type;
}

/** Roles in the order of their reach, with the names people use for them. */
export const ROLES: readonly { code: Role; name: string }[] = [
  { code: "RN", name: "Registered nurse (RN)" },
  { code: "LPN", name: "Licensed practical nurse (LPN)" },
  { code: "CNA", name: "Certified nursing assistant (CNA)" },
  { code: "MED_TECH", name: "Medication aide" },
  { code: "THERAPIST", name: "Therapist" },
  { code: "SOCIAL_WORKER", name: "Social worker" },
  { code: "FACILITY_ADMIN", name: "Facility administrator" },
  { code: "ORG_ADMIN", name: "Organization administrator" },
  { code: "PLATFORM_ADMIN", name: "Platform administrator" },
];

export function roleLabel(role: Role): string {
  return ROLES.find((r) => r.code === role)?.name ?? role;
}

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

/** Only platform administrators create organizations, change any, and open or close one. */
export function canManageOrganizations(admin: AdminUser): boolean {
  return admin.role === "PLATFORM_ADMIN";
}

/** Organization administrators also edit their own organization's details. */
export function canEditOwnOrganization(admin: AdminUser): boolean {
  return admin.role === "ORG_ADMIN" || admin.role === "PLATFORM_ADMIN";
}

/** A facility's minimum device protection, in words an administrator decides by. */
export const PROTECTION_MINIMUMS: readonly { value: DeviceProtectionMinimum; name: string; explanation: string }[] = [
  {
    value: "encrypted",
    name: "Encrypted (default)",
    explanation: "Every device encrypts its records; a kiosk without a keyring may keep the key in a protected file.",
  },
  {
    value: "off_disk",
    name: "Key never on the device's disk alone",
    explanation:
      "Laptops keep the key in their keyring; kiosks need the server to unlock, so a stolen SD card opens nothing.",
  },
  {
    value: "any",
    name: "No requirement",
    explanation: "Devices without encryption may be used. Not recommended for resident data.",
  },
];

/** Facility features an administrator can switch, with what each one turns on. */
export const FEATURES: readonly { key: string; name: string; explanation: string }[] = [
  {
    key: "family_portal",
    name: "Family portal",
    explanation: "Relatives can check in with a visitor code and send messages to the care team.",
  },
  {
    key: "behavior_tracking",
    name: "Behavior tracking",
    explanation: "Staff can record behaviors, what was tried, and how it went (useful in memory care).",
  },
  {
    key: "wandering_alerts",
    name: "Wandering alerts",
    explanation: "Staff can record wandering and exit-seeking so the next shift knows who is at risk.",
  },
];

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
  if (!badge.is_active) return "Revoked";
  if (badge.locked_until && new Date(badge.locked_until).getTime() > now.getTime()) {
    return "Locked after wrong PINs";
  }
  return "Active";
}

/**
 * Words for a refused badge assignment where the code's general copy would mislead
 * (`CONFLICT` there means "someone else changed this"); `undefined` keeps the general copy.
 */
export function badgeAssignError(error: AppError): string | undefined {
  if (error.code === "CONFLICT") {
    return "This badge is already assigned to someone else. Revoke it from their account first, or use a different badge.";
  }
  return undefined;
}

/** What a wedge read the capture could not use says (never the value it read). */
export const WEDGE_NOT_A_BADGE =
  "The badge reader sent something that isn't a badge number. Tap the badge again, or type its number below.";

/** How a "tap a badge" wait ended without an assignment, in words (`null` for an assignment). */
export function captureEndedMessage(outcome: CaptureOutcome): string | null {
  switch (outcome.outcome) {
    case "assigned":
      return null;
    case "cancelled":
      return "Stopped waiting for a badge. Nothing was assigned.";
    case "timed_out":
      return `No badge was tapped within ${outcome.seconds} seconds, so nothing was assigned. Try again, or type the badge number below.`;
    case "session_ended":
      return "Your administrator sign-in ended, so nothing was assigned.";
    case "unsupported_card":
      return "That card can't be used as a badge (a phone or a bank card?). Nothing was assigned. Try again with a staff badge.";
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
  const length = min === max ? `${min} digits` : `${min} to ${max} digits`;
  return (
    `${length}. ` +
    "Not one digit repeated (like 1111) and not a run (like 1234 or 9876). " +
    "The person's next badge sign-in asks for this PIN."
  );
}

/** The PIN rules in words without a facility (the domain's lengths). */
export const PIN_RULES = pinRules();

/** A number of a facility's policy, as the console's Policy part shows it. */
export interface PolicyField {
  key: keyof PolicyRanges;
  label: string;
  /** The unit in words, plural. */
  unit: string;
  explanation: string;
}

/** The facility policy's numbers in the console's order, grouped by what they govern. */
export const POLICY_GROUPS: readonly { title: string; fields: readonly PolicyField[] }[] = [
  {
    title: "Screen lock",
    fields: [
      { key: "idle_lock_kiosk_secs", label: "Idle lock on wall kiosks", unit: "seconds", explanation: "How long a shared kiosk may go untouched before its session locks." },
      { key: "idle_lock_desktop_secs", label: "Idle lock on desktops", unit: "seconds", explanation: "How long a workstation may go untouched before its session locks." },
    ],
  },
  {
    title: "Badges and PINs",
    fields: [
      { key: "badge_grace_hours", label: "Badge-only period", unit: "hours", explanation: "After a sign-in with badge and PIN, the badge alone signs in for this long, also offline. 0 asks for the PIN every time." },
      { key: "badge_reauth_hours", label: "Full sign-in due every", unit: "hours", explanation: "After this long the PIN is asked for again whatever the badge-only period, and offline sign-in stops." },
      { key: "pin_min_digits", label: "Shortest PIN", unit: "digits", explanation: "Fewest digits of a new PIN." },
      { key: "pin_max_digits", label: "Longest PIN", unit: "digits", explanation: "Most digits of a new PIN." },
    ],
  },
  {
    title: "Nurse home and documentation",
    fields: [
      { key: "due_soon_minutes", label: "Due-soon window", unit: "minutes", explanation: "How far ahead PRN follow-ups are listed as due soon." },
      { key: "handoff_hours", label: "Hand-off window", unit: "hours", explanation: "How far back colleagues' notes are shown at hand-off." },
      { key: "documentation_window_days", label: "Documentation on devices", unit: "days", explanation: "How many days of documentation each device receives and keeps; older records stay on the server." },
    ],
  },
  {
    title: "Family kiosk",
    fields: [
      { key: "family_session_secs", label: "Family session length", unit: "seconds", explanation: "How long the family kiosk may go untouched before it forgets the visit." },
    ],
  },
];

/** A policy number's allowed range in words (from Rust, via DOMAIN_RULES). */
export function policyRange(field: PolicyField): string {
  const range = DOMAIN_RULES.facility_policy[field.key];
  return `From ${range.min} to ${range.max} ${field.unit} (default ${range.default}).`;
}

/** The password rule in words (tend-domain `MIN_PASSWORD_LEN`, via DOMAIN_RULES). */
export const PASSWORD_RULE = `At least ${DOMAIN_RULES.password.min_length} characters.`;

/** A typed value becomes the form's text (`null` shows as empty). */
export function text(value: string | number | null | undefined): string {
  return value === null || value === undefined ? "" : String(value);
}
