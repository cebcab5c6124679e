// The admit / edit form's words and logic, shared by the admin console and the nurse
// workspace: the form's starting values, labels for the care details, the date a person
// picks from a stored instant (in the facility's time zone), and, when a save finds the
// resident changed since, which fields differ between what was typed and the server.

import {
  DOMAIN_RULES,
  type Role,
  type CodeStatus,
  type FallRisk,
  type ResidentDraft_Deserialize as ResidentDraft,
  type Resident_Serialize as Resident,
  type RosterPatient_Serialize as RosterPatient,
} from "./bindings";

export const CODE_STATUS_LABELS: Record<CodeStatus, string> = {
  full_code: "Full code",
  dnr: "DNR (do not resuscitate)",
  dnr_dni: "DNR / DNI (do not resuscitate, do not intubate)",
  comfort_only: "Comfort measures only",
};

export const FALL_RISK_LABELS: Record<FallRisk, string> = {
  low: "Low",
  moderate: "Moderate",
  high: "High",
};

/** What the form's fields are called on screen (also the conflict table's rows). */
export const FIELD_LABELS: Record<keyof ResidentDraft, string> = {
  first_name: "First name",
  last_name: "Last name",
  mrn: "Medical record number (MRN)",
  date_of_birth: "Date of birth",
  room: "Room",
  admission_date: "Admission date",
  allergies: "Allergies",
  code_status: "Code status",
  diet: "Diet",
  fall_risk: "Fall risk",
  contact_name: "Emergency contact",
  contact_relationship: "Relationship",
  contact_phone: "Contact's telephone",
};

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
  if (value === null || value === undefined || value === "") return "Not recorded";
  if (field === "code_status") return CODE_STATUS_LABELS[value as CodeStatus];
  if (field === "fall_risk") return FALL_RISK_LABELS[value as FallRisk];
  return String(value).trim() || "Not recorded";
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
  return (Object.keys(FIELD_LABELS) as (keyof ResidentDraft)[])
    .filter((field) => !same(mine[field], theirs[field]))
    .map((field) => ({ field, label: FIELD_LABELS[field], mine: shown(field, mine), theirs: shown(field, theirs) }));
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
