// The nurse workspace's wording and checks, kept out of components so they can be tested
// alone: names and ages, status words, the vital-sign checks (their ranges come from
// tend-domain through the bindings' DOMAIN_RULES), record summaries and PRN follow-up
// due times.

import { DOMAIN_RULES } from "./bindings";
import type {
  BehaviorOutcome,
  BehaviorType,
  LocalRecord,
  MedicationRoute,
  PatientStatus,
  PrnEffectiveness,
  RecordBody,
  RosterPatient,
  VitalSigns,
  WanderingAlertType,
} from "./nurse-types";

export function fullName(patient: Pick<RosterPatient, "first_name" | "last_name">): string {
  return `${patient.first_name} ${patient.last_name}`.trim();
}

/** Whole years from a "YYYY-MM-DD" birth date; null when unknown or unreadable. */
export function ageFrom(dateOfBirth: string | null, today: Date = new Date()): number | null {
  if (!dateOfBirth) return null;
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(dateOfBirth);
  if (!match) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  let age = today.getFullYear() - year;
  const beforeBirthday = today.getMonth() + 1 < month || (today.getMonth() + 1 === month && today.getDate() < day);
  if (beforeBirthday) age -= 1;
  return age >= 0 ? age : null;
}

export const STATUS_LABELS: Record<PatientStatus, string> = {
  active: "In the facility",
  on_leave: "On leave",
  discharged: "Discharged",
  deceased: "Deceased",
};

export type StatusFilter = "all" | "active" | "on_leave";

export const STATUS_FILTERS: readonly { value: StatusFilter; label: string }[] = [
  { value: "all", label: "All" },
  { value: "active", label: "In the facility" },
  { value: "on_leave", label: "On leave" },
];

export function matchesFilter(patient: RosterPatient, filter: StatusFilter): boolean {
  return filter === "all" || patient.status === filter;
}

/**
 * The instant, on-screen narrowing of an already loaded roster while the vault's own
 * search is on its way: every word typed must appear in the name, room or MRN.
 */
export function quickMatch(patients: readonly RosterPatient[], search: string): RosterPatient[] {
  const words = search.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...patients];
  return patients.filter((patient) => {
    const haystack = `${patient.first_name} ${patient.last_name} ${patient.room ?? ""} ${patient.mrn}`.toLowerCase();
    return words.every((word) => haystack.includes(word));
  });
}

// ---- Vital signs ------------------------------------------------------------------

export type VitalField = Exclude<keyof VitalSigns, never>;

interface VitalRule {
  readonly field: VitalField;
  readonly label: string;
  readonly unit: string;
  readonly low: number;
  readonly high: number;
  /** Whole numbers only (u8/u16 in Rust). */
  readonly integer: boolean;
  readonly step: string;
}

/** What each vital sign is called on the form; the rules themselves come from Rust. */
const VITAL_LABELS: Record<VitalField, string> = {
  temperature_c: "Temperature",
  pulse_bpm: "Pulse",
  respiration_rate: "Respiration",
  systolic_mmhg: "Blood pressure, systolic",
  diastolic_mmhg: "Blood pressure, diastolic",
  spo2_percent: "Oxygen saturation (SpO₂)",
  pain_score: "Pain score",
  blood_glucose_mg_dl: "Blood glucose",
};

/** In form order; ranges, units and whole-number rules from tend-domain `VITAL_SIGN_RANGES` (via the bindings). */
export const VITAL_RULES: readonly VitalRule[] = DOMAIN_RULES.vital_signs.map((range) => ({
  field: range.sign,
  label: VITAL_LABELS[range.sign],
  unit: range.unit,
  low: range.low,
  high: range.high,
  integer: range.whole_number,
  step: range.whole_number ? "1" : "0.1",
}));

export type VitalInputs = Record<VitalField, string>;

export function emptyVitalInputs(): VitalInputs {
  return {
    temperature_c: "",
    pulse_bpm: "",
    respiration_rate: "",
    systolic_mmhg: "",
    diastolic_mmhg: "",
    spo2_percent: "",
    pain_score: "",
    blood_glucose_mg_dl: "",
  };
}

function withUnit(value: number | string, unit: string): string {
  return unit ? `${value} ${unit}` : `${value}`;
}

/** The message for one typed value out of its plausible range (or not a number); null when fine or empty. */
export function vitalRangeError(field: VitalField, raw: string): string | null {
  const rule = VITAL_RULES.find((candidate) => candidate.field === field);
  const text = raw.trim().replace(",", ".");
  if (!rule || text === "") return null;
  const value = Number(text);
  if (!Number.isFinite(value)) return "Enter a number";
  if (rule.integer && !Number.isInteger(value)) return "Enter a whole number";
  if (value < rule.low || value > rule.high) {
    return `${withUnit(value, rule.unit)} is not plausible; expected ${rule.low}–${withUnit(rule.high, rule.unit)}`;
  }
  return null;
}

/**
 * Checks typed values the way Rust will: per-field messages keyed `body.<field>`, and
 * `body` when nothing was entered. Returns the record to write when everything is fine.
 */
export function checkVitals(inputs: VitalInputs): { errors: Record<string, string>; vitals: VitalSigns | null } {
  const errors: Record<string, string> = {};
  const vitals: VitalSigns = {
    temperature_c: null,
    pulse_bpm: null,
    respiration_rate: null,
    systolic_mmhg: null,
    diastolic_mmhg: null,
    spo2_percent: null,
    pain_score: null,
    blood_glucose_mg_dl: null,
  };
  for (const rule of VITAL_RULES) {
    const raw = inputs[rule.field].trim().replace(",", ".");
    if (raw === "") continue;
    const problem = vitalRangeError(rule.field, raw);
    if (problem) errors[`body.${rule.field}`] = problem;
    else vitals[rule.field] = Number(raw);
  }
  const systolic = inputs.systolic_mmhg.trim();
  const diastolic = inputs.diastolic_mmhg.trim();
  if (systolic && !diastolic && !errors["body.diastolic_mmhg"]) {
    errors["body.diastolic_mmhg"] = "Blood pressure needs both numbers";
  } else if (!systolic && diastolic && !errors["body.systolic_mmhg"]) {
    errors["body.systolic_mmhg"] = "Blood pressure needs both numbers";
  } else if (vitals.systolic_mmhg !== null && vitals.diastolic_mmhg !== null && vitals.systolic_mmhg <= vitals.diastolic_mmhg) {
    errors["body.diastolic_mmhg"] = "The diastolic pressure must be lower than the systolic";
  }
  const entered = VITAL_RULES.some((rule) => inputs[rule.field].trim() !== "");
  if (!entered) errors["body"] = "Enter at least one vital sign";
  return { errors, vitals: Object.keys(errors).length === 0 ? vitals : null };
}

// ---- Text and the PRN follow-up window ------------------------------------------------

/** Longest texts of a record, in characters (tend-domain `records.rs`, via the bindings). */
export const TEXT_LIMITS = DOMAIN_RULES.text_limits;

/** When a PRN dose's effectiveness check may be due, in minutes after it (tend-domain). */
export const PRN_FOLLOW_UP = DOMAIN_RULES.prn_follow_up;

/**
 * A typed text checked the way Rust will: "Required" when blank (unless optional), too
 * long past `max` characters (counted as Rust counts them, by code point); else undefined.
 */
export function textProblem(value: string, max: number, optional = false): string | undefined {
  if (value.trim() === "") return optional ? undefined : "Required";
  const length = [...value].length;
  return length > max ? `At most ${max} characters (now ${length})` : undefined;
}

/** The follow-up delay typed in minutes, checked against Rust's window. */
export function followUpProblem(raw: string): string | undefined {
  const minutes = Number(raw);
  const { min_minutes: low, max_minutes: high } = PRN_FOLLOW_UP;
  return raw.trim() !== "" && Number.isInteger(minutes) && minutes >= low && minutes <= high
    ? undefined
    : `Between ${low} and ${high} minutes`;
}

// ---- Record wording -----------------------------------------------------------------

export const BEHAVIOR_LABELS: Record<BehaviorType, string> = {
  agitation: "Agitation",
  verbal_aggression: "Verbal aggression",
  physical_aggression: "Physical aggression",
  exit_seeking: "Exit seeking",
  refusing_care: "Refusing care",
  sundowning: "Sundowning",
  repetitive_vocalization: "Repetitive vocalization",
  other: "Other",
};

export const OUTCOME_LABELS: Record<BehaviorOutcome, string> = {
  resolved: "Resolved",
  improved: "Improved",
  unchanged: "Unchanged",
  escalated: "Escalated",
};

export const ROUTE_LABELS: Record<MedicationRoute, string> = {
  oral: "By mouth",
  sublingual: "Under the tongue",
  topical: "On the skin",
  inhaled: "Inhaled",
  injection: "Injection",
  rectal: "Rectal",
  transdermal: "Patch",
  other: "Other",
};

export const EFFECTIVENESS_LABELS: Record<PrnEffectiveness, string> = {
  effective: "Effective",
  partially_effective: "Partly effective",
  not_effective: "Not effective",
};

export const ALERT_LABELS: Record<WanderingAlertType, string> = {
  exit_door: "At an exit door",
  missing: "Missing",
  found: "Found",
};

export const KIND_LABELS: Record<RecordBody["kind"], string> = {
  care_note: "Care note",
  vital_signs: "Vital signs",
  behavior_event: "Behavior",
  prn_administration: "PRN medication",
  prn_follow_up: "PRN follow-up",
  wandering_alert: "Wandering alert",
};

/** One line saying what a record says. */
export function summarize(body: RecordBody): string {
  switch (body.kind) {
    case "care_note":
      return body.text;
    case "vital_signs": {
      const parts: string[] = [];
      if (body.temperature_c !== null) parts.push(`Temp ${body.temperature_c} °C`);
      if (body.pulse_bpm !== null) parts.push(`Pulse ${body.pulse_bpm}`);
      if (body.respiration_rate !== null) parts.push(`Resp ${body.respiration_rate}`);
      if (body.systolic_mmhg !== null && body.diastolic_mmhg !== null) parts.push(`BP ${body.systolic_mmhg}/${body.diastolic_mmhg}`);
      if (body.spo2_percent !== null) parts.push(`SpO₂ ${body.spo2_percent} %`);
      if (body.pain_score !== null) parts.push(`Pain ${body.pain_score}/10`);
      if (body.blood_glucose_mg_dl !== null) parts.push(`Glucose ${body.blood_glucose_mg_dl} mg/dL`);
      return parts.join(" · ");
    }
    case "behavior_event":
      return `${BEHAVIOR_LABELS[body.behavior]} — ${OUTCOME_LABELS[body.outcome].toLowerCase()}. Before: ${body.antecedent}. Done: ${body.intervention}.`;
    case "prn_administration":
      return `${body.medication} ${body.dose}, ${ROUTE_LABELS[body.route].toLowerCase()} — ${body.reason}`;
    case "prn_follow_up":
      return `${EFFECTIVENESS_LABELS[body.effectiveness]}${body.note ? ` — ${body.note}` : ""}`;
    case "wandering_alert":
      return `${ALERT_LABELS[body.alert]}: ${body.location}${body.note ? ` — ${body.note}` : ""}`;
  }
}

/** When a record happened: the server's time once it has it, else this device's. */
export function recordTime(record: LocalRecord): string {
  return record.occurred_at ?? record.recorded_at;
}

export function formatClock(iso: string): string {
  return new Date(iso).toLocaleTimeString("en-US", { hour: "2-digit", minute: "2-digit", hour12: false });
}

export function formatWhen(iso: string, now: Date = new Date()): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return "";
  const sameDay = at.toDateString() === now.toDateString();
  const time = formatClock(iso);
  if (sameDay) return `Today ${time}`;
  return `${at.toLocaleDateString("en-US", { month: "short", day: "numeric" })} ${time}`;
}

export interface FollowUpDue {
  administration: LocalRecord;
  /** ISO time the effectiveness check is due. */
  due: string;
}

/** PRN administrations in a timeline that have no follow-up amending them yet. */
export function openFollowUps(records: readonly LocalRecord[]): FollowUpDue[] {
  const followed = new Set(
    records.filter((r) => r.body.kind === "prn_follow_up" && r.amends).map((r) => r.amends as string),
  );
  const open: FollowUpDue[] = [];
  for (const record of records) {
    if (record.body.kind !== "prn_administration" || followed.has(record.id) || record.sync_state === "rejected") continue;
    const given = new Date(recordTime(record)).getTime();
    open.push({ administration: record, due: new Date(given + record.body.follow_up_minutes * 60_000).toISOString() });
  }
  return open.sort((a, b) => a.due.localeCompare(b.due));
}
