// Wording for the admin console's audit log: families of actions to filter by, and each
// recorded action in words an administrator reads without knowing the API, in the
// language shown when a function is called.

import { formatDateTime, formatNumber, t } from "./i18n/index.svelte";
import { english, type Dictionary } from "./i18n/resources";

export interface ActionFamily {
  prefix: string;
  /** The family's name in the language shown. */
  label: () => string;
}

type FamilyKey = keyof Dictionary["console"]["audit"]["families"];

/** The filter's choices, keyed by what the API matches (`action_prefix`). */
const FAMILY_KEYS: readonly [prefix: string, key: FamilyKey][] = [
  ["auth.", "auth"],
  ["patient.", "patient"],
  ["record.", "record"],
  ["device.", "device"],
  ["enrollment_code.", "enrollment_code"],
  ["facility.", "facility"],
  ["organization.", "organization"],
  ["user.", "user"],
  ["badge.", "badge"],
  ["family", "family"],
  ["visitor_code.", "visitor_code"],
  ["sync.", "sync"],
  ["audit_", "audit"],
  ["access.", "access"],
];

/** The filter's choices; the prefix is what the API matches (`action_prefix`). */
export const ACTION_FAMILIES: readonly ActionFamily[] = FAMILY_KEYS.map(([prefix, key]) => ({
  prefix,
  label: () => t(`console.audit.families.${key}`),
}));

type ActionKey = keyof Dictionary["console"]["audit"]["actions"];

/** The dictionary's key of a recorded action: its code with `_` for `.` ("facility_census_update"). */
function actionKey(action: string): ActionKey | null {
  const key = action.replaceAll(".", "_");
  return Object.prototype.hasOwnProperty.call(english.console.audit.actions, key) ? (key as ActionKey) : null;
}

/** "Updated the census"; an action this console doesn't know yet shows as recorded. */
export function actionLabel(action: string): string {
  const key = actionKey(action);
  return key ? t(`console.audit.actions.${key}`) : action;
}

export interface Actor {
  actor_user_id: number | null;
  actor_name: string | null;
  actor_device_id: number | null;
}

/** Who did it, in words: a person's name, else their number, else the device. */
export function actorLabel(event: Actor): string {
  if (event.actor_name) return event.actor_name;
  if (event.actor_user_id !== null) return t("console.audit.actorOutside", { id: event.actor_user_id });
  if (event.actor_device_id !== null) return t("console.audit.actorDevice", { id: event.actor_device_id });
  return t("console.audit.actorSystem");
}

/** "Nov 27, 9:41 AM" in the facility's time zone and the language shown; as recorded when it does not parse. */
export function formatWhen(at: string): string {
  return formatDateTime(at) || at;
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
    const counted = { count: v.events_checked, events: formatNumber(v.events_checked) };
    return v.last_event_id !== null
      ? t("console.audit.intactThrough", { ...counted, last: v.last_event_id })
      : t("console.audit.intact", counted);
  }
  const where =
    v.broken_event_id !== null
      ? t("console.audit.brokenEvent", { id: v.broken_event_id })
      : t("console.audit.missingEvent", { position: v.broken_seq ?? "?" });
  // The problem is the server's own words (a known gap: not translated).
  return v.problem ? t("console.audit.brokenAtBecause", { where, problem: v.problem }) : t("console.audit.brokenAt", { where });
}
