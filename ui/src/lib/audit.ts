// Wording for the admin console's audit log: families of actions to filter by, and each
// recorded action in words an administrator reads without knowing the API.

export interface ActionFamily {
  prefix: string;
  label: string;
}

/** The filter's choices; the prefix is what the API matches (`action_prefix`). */
export const ACTION_FAMILIES: readonly ActionFamily[] = [
  { prefix: "auth.", label: "Sign-ins and sign-outs" },
  { prefix: "patient.", label: "Residents and their records viewed or changed" },
  { prefix: "record.", label: "Documentation written" },
  { prefix: "device.", label: "Devices (enrollment, approval, locks, offline sign-ins)" },
  { prefix: "enrollment_code.", label: "Enrollment codes" },
  { prefix: "facility.", label: "Facility details and census" },
  { prefix: "organization.", label: "Organization details" },
  { prefix: "user.", label: "Staff accounts and PINs" },
  { prefix: "badge.", label: "Badges" },
  { prefix: "family", label: "Family portal (codes, updates, messages)" },
  { prefix: "visitor_code.", label: "Visitor codes" },
  { prefix: "sync.", label: "Device sync" },
  { prefix: "audit_", label: "Audit log viewed, exported or verified" },
  { prefix: "access.", label: "Refused access" },
];

const ACTIONS: Record<string, string> = {
  "access.denied": "Was refused access",
  "audit_chain.read": "Viewed the audit chain's verification",
  "audit_chain.verify": "Verified the audit chain",
  "audit_event.export": "Exported the audit log",
  "audit_event.list": "Viewed the audit log",
  "auth.badge_login": "Signed in with a badge",
  "auth.login": "Signed in with a password",
  "auth.logout": "Signed out",
  "badge.assign": "Assigned a badge",
  "badge.list": "Viewed badges",
  "badge.locked": "Badge locked after wrong PINs",
  "badge.revoke": "Revoked a badge",
  "device.approve": "Approved a device",
  "device.clone_conflict": "A cloned device was refused",
  "device.create": "Registered a device",
  "device.deactivate": "Deactivated a device",
  "device.enroll": "A device enrolled",
  "device.enroll_pending": "A device enrolled and waits for approval",
  "device.list": "Viewed devices",
  "device.lock": "Locked a device",
  "device.logout": "Signed out on a device",
  "device.offline_login": "Signed in on a device while offline",
  "device.offline_login_failed": "Failed offline sign-in on a device",
  "device.read": "Viewed a device",
  "device.reject": "Rejected a device",
  "device.unlock": "Unlocked a device",
  "device.update": "Changed a device",
  "enrollment_code.create": "Created an enrollment code",
  "enrollment_code.list": "Viewed enrollment codes",
  "enrollment_code.revoke": "Revoked an enrollment code",
  "facility.census.update": "Updated the census",
  "facility.create": "Created a facility",
  "facility.dashboard": "Viewed the facility dashboard",
  "facility.list": "Viewed facilities",
  "facility.read": "Viewed a facility",
  "facility.update": "Changed a facility",
  "family.check_in": "A family member checked in",
  "family.summary.read": "A family member viewed the day summary",
  "family_message.create": "A family member left a message",
  "family_message.list": "Viewed family messages",
  "family_update.create": "Shared an update with family",
  "family_update.list": "Viewed family updates",
  "organization.create": "Created an organization",
  "organization.list": "Viewed organizations",
  "organization.read": "Viewed the organization",
  "organization.update": "Changed the organization",
  "patient.create": "Admitted a resident",
  "patient.list": "Viewed the residents list",
  "patient.read": "Viewed a resident",
  "patient.records.read": "Viewed a resident's documentation",
  "patient.update": "Changed a resident's details",
  "record.create": "Documented care",
  "sync.pull": "A device downloaded changes",
  "sync.record_forged": "Refused a device's record: its author wasn't signed in on that device then",
  "user.create": "Created a staff account",
  "user.list": "Viewed staff",
  "user.pin_set": "Set a PIN",
  "user.read": "Viewed a staff account",
  "user.update": "Changed a staff account",
  "visitor_code.create": "Issued a visitor code",
  "visitor_code.list": "Viewed visitor codes",
  "visitor_code.revoke": "Revoked a visitor code",
};

/** "Updated the census"; an action this console doesn't know yet shows as recorded. */
export function actionLabel(action: string): string {
  return ACTIONS[action] ?? action;
}

export interface Actor {
  actor_user_id: number | null;
  actor_name: string | null;
  actor_device_id: number | null;
}

/** Who did it, in words: a person's name, else their number, else the device. */
export function actorLabel(event: Actor): string {
  if (event.actor_name) return event.actor_name;
  if (event.actor_user_id !== null) return `Staff member #${event.actor_user_id} (not in your facilities)`;
  if (event.actor_device_id !== null) return `Device #${event.actor_device_id}`;
  return "System";
}

/** "Nov 27, 9:41 AM" in the administrator's time zone. */
export function formatWhen(at: string): string {
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return at;
  return date.toLocaleString("en-US", { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
}

export interface ChainVerdict {
  intact: boolean;
  events_checked: number;
  last_event_id: number | null;
  broken_event_id: number | null;
  broken_seq: number | null;
  problem: string | null;
}

/** One chain's verdict in words: "intact, 1,204 events" or where it broke and why. */
export function chainVerdict(v: ChainVerdict): string {
  if (v.intact) {
    const events = `${v.events_checked.toLocaleString("en-US")} event${v.events_checked === 1 ? "" : "s"}`;
    return `intact, ${events} checked${v.last_event_id !== null ? ` through event #${v.last_event_id}` : ""}`;
  }
  const where =
    v.broken_event_id !== null ? `event #${v.broken_event_id}` : `a missing event (position ${v.broken_seq ?? "?"})`;
  return `broken at ${where}${v.problem ? `: ${v.problem}` : ""}`;
}
