// The nurse workspace's wording and checks, kept out of components so they can be tested
// alone: names and ages, status words, the vital-sign checks (their ranges come from
// tend-domain through the bindings' DOMAIN_RULES), record summaries and PRN follow-up
// due times. Every word comes from the `nurse` dictionary when it is asked for (never
// once at load), so a screen left open follows a change of language.

import { DOMAIN_RULES } from "./bindings";
import { currentTimeZone, formatInstant, formatShortDate, t } from "./i18n/index.svelte";
import { dayIn } from "./residents";
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

/**
 * A table of words read at the moment of use: `TABLE[key]` calls `t()` then, so a
 * template reading it re-renders when the language changes. Kept as tables (not only
 * functions) because screens outside the workspace index them.
 */
function wordTable<K extends string>(words: Record<K, () => string>): Readonly<Record<K, string>> {
  const table = {} as Record<K, string>;
  for (const key of Object.keys(words) as K[]) {
    Object.defineProperty(table, key, { get: words[key], enumerable: true });
  }
  return table;
}

/** "In the facility", "On leave"…: a resident's status in the shown language. */
export const STATUS_LABELS = wordTable<PatientStatus>({
  active: () => t("nurse.status.active"),
  on_leave: () => t("nurse.status.on_leave"),
  discharged: () => t("nurse.status.discharged"),
  deceased: () => t("nurse.status.deceased"),
});

export function statusLabel(status: PatientStatus): string {
  return STATUS_LABELS[status];
}

export type StatusFilter = "all" | "active" | "on_leave";

export const STATUS_FILTERS: readonly { readonly value: StatusFilter; readonly label: string }[] = (["all", "active", "on_leave"] as const).map(
  (value) => ({
    value,
    get label() {
      return value === "all" ? t("common.states.all") : statusLabel(value);
    },
  }),
);

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
export function vitalLabel(field: VitalField): string {
  return t(`nurse.vitals.labels.${field}`);
}

/**
 * A unit as Rust names it, as the shown language writes it: "bpm" and "breaths/min"
 * have words; symbols (°C, mmHg, %, mg/dL) read the same in both languages.
 */
export function unitLabel(unit: string): string {
  if (unit === "bpm") return t("nurse.vitals.units.bpm");
  if (unit === "breaths/min") return t("nurse.vitals.units.breathsPerMinute");
  return unit;
}

/** A vital sign's form label with its unit, or the 0–10 scale for pain (which has none). */
export function vitalFieldLabel(rule: Pick<VitalRule, "label" | "unit">): string {
  return rule.unit
    ? t("nurse.vitals.labelWithUnit", { label: rule.label, unit: unitLabel(rule.unit) })
    : t("nurse.vitals.labelPainScale", { label: rule.label });
}

/**
 * In form order; ranges, units and whole-number rules from tend-domain `VITAL_SIGN_RANGES`
 * (via the bindings). `unit` is Rust's (see `unitLabel`); `label` is read in the shown language.
 */
export const VITAL_RULES: readonly VitalRule[] = DOMAIN_RULES.vital_signs.map((range) => ({
  field: range.sign,
  get label() {
    return vitalLabel(range.sign);
  },
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
  return unit ? `${value} ${unitLabel(unit)}` : `${value}`;
}

/** The message for one typed value out of its plausible range (or not a number); null when fine or empty. */
export function vitalRangeError(field: VitalField, raw: string): string | null {
  const rule = VITAL_RULES.find((candidate) => candidate.field === field);
  const text = raw.trim().replace(",", ".");
  if (!rule || text === "") return null;
  const value = Number(text);
  if (!Number.isFinite(value)) return t("nurse.vitals.enterNumber");
  if (rule.integer && !Number.isInteger(value)) return t("nurse.vitals.enterWholeNumber");
  if (value < rule.low || value > rule.high) {
    return t("nurse.vitals.notPlausible", { value: withUnit(value, rule.unit), low: rule.low, high: withUnit(rule.high, rule.unit) });
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
    errors["body.diastolic_mmhg"] = t("nurse.vitals.bloodPressureBoth");
  } else if (!systolic && diastolic && !errors["body.systolic_mmhg"]) {
    errors["body.systolic_mmhg"] = t("nurse.vitals.bloodPressureBoth");
  } else if (vitals.systolic_mmhg !== null && vitals.diastolic_mmhg !== null && vitals.systolic_mmhg <= vitals.diastolic_mmhg) {
    errors["body.diastolic_mmhg"] = t("nurse.vitals.diastolicLower");
  }
  const entered = VITAL_RULES.some((rule) => inputs[rule.field].trim() !== "");
  if (!entered) errors["body"] = t("nurse.vitals.enterOne");
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
  if (value.trim() === "") return optional ? undefined : t("nurse.checks.required");
  const length = [...value].length;
  return length > max ? t("nurse.checks.tooLong", { max, length }) : undefined;
}

/** The follow-up delay typed in minutes, checked against Rust's window. */
export function followUpProblem(raw: string): string | undefined {
  const minutes = Number(raw);
  const { min_minutes: low, max_minutes: high } = PRN_FOLLOW_UP;
  return raw.trim() !== "" && Number.isInteger(minutes) && minutes >= low && minutes <= high
    ? undefined
    : t("nurse.checks.followUpWindow", { low, high });
}

// ---- Record wording -----------------------------------------------------------------

export const BEHAVIOR_LABELS = wordTable<BehaviorType>({
  agitation: () => t("nurse.behaviors.agitation"),
  verbal_aggression: () => t("nurse.behaviors.verbal_aggression"),
  physical_aggression: () => t("nurse.behaviors.physical_aggression"),
  exit_seeking: () => t("nurse.behaviors.exit_seeking"),
  refusing_care: () => t("nurse.behaviors.refusing_care"),
  sundowning: () => t("nurse.behaviors.sundowning"),
  repetitive_vocalization: () => t("nurse.behaviors.repetitive_vocalization"),
  other: () => t("nurse.behaviors.other"),
});

export const OUTCOME_LABELS = wordTable<BehaviorOutcome>({
  resolved: () => t("nurse.outcomes.resolved"),
  improved: () => t("nurse.outcomes.improved"),
  unchanged: () => t("nurse.outcomes.unchanged"),
  escalated: () => t("nurse.outcomes.escalated"),
});

export const ROUTE_LABELS = wordTable<MedicationRoute>({
  oral: () => t("nurse.routes.oral"),
  sublingual: () => t("nurse.routes.sublingual"),
  topical: () => t("nurse.routes.topical"),
  inhaled: () => t("nurse.routes.inhaled"),
  injection: () => t("nurse.routes.injection"),
  rectal: () => t("nurse.routes.rectal"),
  transdermal: () => t("nurse.routes.transdermal"),
  other: () => t("nurse.routes.other"),
});

export const EFFECTIVENESS_LABELS = wordTable<PrnEffectiveness>({
  effective: () => t("nurse.effectiveness.effective"),
  partially_effective: () => t("nurse.effectiveness.partially_effective"),
  not_effective: () => t("nurse.effectiveness.not_effective"),
});

export const ALERT_LABELS = wordTable<WanderingAlertType>({
  exit_door: () => t("nurse.alerts.exit_door"),
  missing: () => t("nurse.alerts.missing"),
  found: () => t("nurse.alerts.found"),
});

/** What a record is ("Care note", "Vital signs"…), in the shown language. */
export const KIND_LABELS = wordTable<RecordBody["kind"]>({
  care_note: () => t("nurse.kinds.care_note"),
  vital_signs: () => t("nurse.kinds.vital_signs"),
  behavior_event: () => t("nurse.kinds.behavior_event"),
  prn_administration: () => t("nurse.kinds.prn_administration"),
  prn_follow_up: () => t("nurse.kinds.prn_follow_up"),
  wandering_alert: () => t("nurse.kinds.wandering_alert"),
});

export function kindLabel(kind: RecordBody["kind"]): string {
  return KIND_LABELS[kind];
}

/** One line saying what a record says. */
export function summarize(body: RecordBody): string {
  switch (body.kind) {
    case "care_note":
      return body.text;
    case "vital_signs": {
      const parts: string[] = [];
      if (body.temperature_c !== null) parts.push(t("nurse.summary.temperature", { value: body.temperature_c }));
      if (body.pulse_bpm !== null) parts.push(t("nurse.summary.pulse", { value: body.pulse_bpm }));
      if (body.respiration_rate !== null) parts.push(t("nurse.summary.respiration", { value: body.respiration_rate }));
      if (body.systolic_mmhg !== null && body.diastolic_mmhg !== null) {
        parts.push(t("nurse.summary.bloodPressure", { systolic: body.systolic_mmhg, diastolic: body.diastolic_mmhg }));
      }
      if (body.spo2_percent !== null) parts.push(t("nurse.summary.spo2", { value: body.spo2_percent }));
      if (body.pain_score !== null) parts.push(t("nurse.summary.pain", { value: body.pain_score }));
      if (body.blood_glucose_mg_dl !== null) parts.push(t("nurse.summary.glucose", { value: body.blood_glucose_mg_dl }));
      return parts.join(" · ");
    }
    case "behavior_event":
      return t("nurse.summary.behavior", {
        behavior: BEHAVIOR_LABELS[body.behavior],
        outcome: OUTCOME_LABELS[body.outcome].toLowerCase(),
        antecedent: body.antecedent,
        intervention: body.intervention,
      });
    case "prn_administration":
      return t("nurse.summary.prn", {
        medication: body.medication,
        dose: body.dose,
        route: ROUTE_LABELS[body.route].toLowerCase(),
        reason: body.reason,
      });
    case "prn_follow_up":
      return withNote(EFFECTIVENESS_LABELS[body.effectiveness], body.note);
    case "wandering_alert":
      return withNote(t("nurse.summary.wandering", { alert: ALERT_LABELS[body.alert], location: body.location }), body.note);
  }
}

function withNote(text: string, note: string | null): string {
  return note ? t("nurse.summary.withNote", { text, note }) : text;
}

/** When a record happened: the server's time once it has it, else this device's. */
export function recordTime(record: LocalRecord): string {
  return record.occurred_at ?? record.recorded_at;
}

/** A time of day at the facility on the 24-hour clock charts use ("14:05"), in the shown language. */
export function formatClock(iso: string): string {
  return formatInstant(iso, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
}

/** The calendar day (YYYY-MM-DD) of an instant at the facility (the device's zone before the first sync). */
export function facilityDay(instant: string | Date): string {
  const iso = instant instanceof Date ? instant.toISOString() : instant;
  return dayIn(iso, currentTimeZone() ?? Intl.DateTimeFormat().resolvedOptions().timeZone);
}

/** "Today 14:05" or "Mar 14 14:05": the day and time at the facility. */
export function formatWhen(iso: string, now: Date = new Date()): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return "";
  const time = formatClock(iso);
  if (facilityDay(iso) === facilityDay(now)) return t("nurse.time.today", { time });
  return t("nurse.time.dated", { date: formatShortDate(iso), time });
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
