// The admit / edit form's words and logic, shared by the admin console and the nurse
// workspace: the form's starting values, labels for the care details, the date a person
// picks from a stored instant (in the facility's time zone), and, when a save finds the
// resident changed since, which fields differ between what was typed and the server.
// Labels come from the `residents` dictionary when read, so they follow the shown language.

import {
  DOMAIN_RULES,
  type Role,
  type CodeStatus,
  type FallRisk,
  type ResidentDraft_Deserialize as ResidentDraft,
  type Resident_Serialize as Resident,
  type RosterPatient_Serialize as RosterPatient,
} from "./bindings";
import { t } from "./i18n/index.svelte";

/** A table whose words are looked up when read (each read calls `t()` in the shown language). */
function wordTable<K extends string>(words: Record<K, () => string>): Readonly<Record<K, string>> {
  const table = {} as Record<K, string>;
  for (const key of Object.keys(words) as K[]) {
    Object.defineProperty(table, key, { get: words[key], enumerable: true });
  }
  return table;
}

export const CODE_STATUS_LABELS = wordTable<CodeStatus>({
  full_code: () => t("residents.codeStatus.full_code"),
  dnr: () => t("residents.codeStatus.dnr"),
  dnr_dni: () => t("residents.codeStatus.dnr_dni"),
  comfort_only: () => t("residents.codeStatus.comfort_only"),
});

export const FALL_RISK_LABELS = wordTable<FallRisk>({
  low: () => t("residents.fallRisk.low"),
  moderate: () => t("residents.fallRisk.moderate"),
  high: () => t("residents.fallRisk.high"),
});

/** The form's fields in form order. */
const FIELDS: readonly (keyof ResidentDraft)[] = [
  "first_name",
  "last_name",
  "mrn",
  "date_of_birth",
  "room",
  "admission_date",
  "allergies",
  "code_status",
  "diet",
  "fall_risk",
  "contact_name",
  "contact_relationship",
  "contact_phone",
];

/** What the form's fields are called on screen (also the conflict table's rows). */
export const FIELD_LABELS = wordTable(
  Object.fromEntries(FIELDS.map((field) => [field, () => t(`residents.fields.${field}`)])) as Record<keyof ResidentDraft, () => string>,
);

/** The API's field names (and tend-core's) for the form's inputs. */
export const FIELD_FOR_ERROR: Record<string, keyof ResidentDraft> = {
  admitted_at: "admission_date",
  "emergency_contact.name": "contact_name",
  "emergency_contact.relationship": "contact_relationship",
  "emergency_contact.phone": "contact_phone",
};

export function emptyDraft(): ResidentDraft {
  return {
    mrn: "",
    first_name: "",
    last_name: "",
    date_of_birth: "",
    room: "",
    admission_date: "",
    allergies: "",
    code_status: null,
    diet: "",
    fall_risk: null,
    contact_name: "",
    contact_relationship: "",
    contact_phone: "",
  };
}

/** The calendar day (YYYY-MM-DD) of `instant` in `timeZone` (the facility's). */
export function dayIn(instant: string | null | undefined, timeZone: string): string {
  if (!instant) return "";
  const date = new Date(instant);
  if (Number.isNaN(date.getTime())) return "";
  let zone = timeZone;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
  } catch {
    zone = "UTC";
  }
  // From the parts, not a locale's format: engines differ in how "en-CA" writes a date.
  const parts = new Intl.DateTimeFormat("en-US", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(date);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${part("year")}-${part("month")}-${part("day")}`;
}

type Editable = Pick<
  Resident,
  "mrn" | "first_name" | "last_name" | "date_of_birth" | "room" | "admitted_at" | "allergies" | "code_status" | "diet" | "fall_risk" | "emergency_contact"
>;

/** The form filled with a resident as stored (the edit form's start, or the server's side of a conflict). */
export function draftOf(resident: Editable | RosterPatient, timeZone: string): ResidentDraft {
  return {
    mrn: resident.mrn,
    first_name: resident.first_name,
    last_name: resident.last_name,
    date_of_birth: resident.date_of_birth ?? "",
    room: resident.room ?? "",
    admission_date: dayIn(resident.admitted_at, timeZone),
    allergies: resident.allergies ?? "",
    code_status: resident.code_status ?? null,
    diet: resident.diet ?? "",
    fall_risk: resident.fall_risk ?? null,
    contact_name: resident.emergency_contact?.name ?? "",
    contact_relationship: resident.emergency_contact?.relationship ?? "",
    contact_phone: resident.emergency_contact?.phone ?? "",
  };
}

/** A field's value as a person reads it ("Not recorded" for blank). */
export function shown(field: keyof ResidentDraft, draft: ResidentDraft): string {
  const value = draft[field];
  if (value === null || value === undefined || value === "") return t("residents.notRecorded");
  if (field === "code_status") return CODE_STATUS_LABELS[value as CodeStatus];
  if (field === "fall_risk") return FALL_RISK_LABELS[value as FallRisk];
  return String(value).trim() || t("residents.notRecorded");
}

function same(a: unknown, b: unknown): boolean {
  const norm = (v: unknown) => (v === null || v === undefined ? "" : String(v).trim());
  return norm(a) === norm(b);
}

/** One field that differs between what was typed and the resident as they are now. */
export interface Difference {
  field: keyof ResidentDraft;
  label: string;
  mine: string;
  theirs: string;
}

/** The fields where `mine` (typed) and `theirs` (the server now) differ, in form order. */
export function differences(mine: ResidentDraft, theirs: ResidentDraft): Difference[] {
  // Words are read when shown (getters), so an open conflict table follows a change of language.
  return FIELDS.filter((field) => !same(mine[field], theirs[field])).map((field) => ({
    field,
    get label() {
      return FIELD_LABELS[field];
    },
    get mine() {
      return shown(field, mine);
    },
    get theirs() {
      return shown(field, theirs);
    },
  }));
}

/** The draft to save after a conflict: the server's values, with the fields the person kept as typed. */
export function resolve(mine: ResidentDraft, theirs: ResidentDraft, keepMine: ReadonlySet<keyof ResidentDraft>): ResidentDraft {
  const out = { ...theirs };
  for (const field of keepMine) {
    (out as Record<string, unknown>)[field] = mine[field];
  }
  return out;
}

/** The form's field for an error the API or the core named. */
export function formField(apiField: string): keyof ResidentDraft | null {
  const renamed = FIELD_FOR_ERROR[apiField];
  if (renamed) return renamed;
  return apiField in FIELD_LABELS ? (apiField as keyof ResidentDraft) : null;
}

/** Roles that admit, edit and discharge residents (from Rust, which the server also follows). */
export function mayManageResidents(role: Role | null | undefined): boolean {
  return role != null && (DOMAIN_RULES.resident_managing_roles as readonly Role[]).includes(role);
}
