import { afterEach, describe, expect, it } from "vitest";
import { setDeviceLanguage, setTimeZone } from "./i18n/index.svelte";
import { NO_CARE_DETAILS } from "../test/fixtures";
import { DOMAIN_RULES } from "./bindings";
import {
  ageFrom,
  formatWhen,
  KIND_LABELS,
  STATUS_FILTERS,
  checkVitals,
  emptyVitalInputs,
  followUpProblem,
  openFollowUps,
  quickMatch,
  summarize,
  textProblem,
  TEXT_LIMITS,
  VITAL_RULES,
  vitalRangeError,
} from "./nurse";
import type { LocalRecord } from "./nurse-types";

describe("ageFrom", () => {
  it("counts whole years, before and after the birthday", () => {
    const today = new Date(2026, 10, 27);
    expect(ageFrom("1940-11-27", today)).toBe(86);
    expect(ageFrom("1940-11-28", today)).toBe(85);
    expect(ageFrom(null, today)).toBeNull();
    expect(ageFrom("not a date", today)).toBeNull();
  });
});

describe("vital signs", () => {
  it("uses the plausible ranges of records.rs at both ends", () => {
    expect(vitalRangeError("temperature_c", "30")).toBeNull();
    expect(vitalRangeError("temperature_c", "45")).toBeNull();
    expect(vitalRangeError("temperature_c", "29.9")).toBe("29.9 °C is not plausible; expected 30–45 °C");
    expect(vitalRangeError("pulse_bpm", "19")).toContain("expected 20–250 bpm");
    expect(vitalRangeError("respiration_rate", "61")).toContain("expected 4–60 breaths/min");
    expect(vitalRangeError("systolic_mmhg", "261")).toContain("expected 50–260 mmHg");
    expect(vitalRangeError("diastolic_mmhg", "19")).toContain("expected 20–160 mmHg");
    expect(vitalRangeError("spo2_percent", "49")).toContain("expected 50–100 %");
    expect(vitalRangeError("pain_score", "11")).toBe("11 is not plausible; expected 0–10");
    expect(vitalRangeError("blood_glucose_mg_dl", "801")).toContain("expected 20–800 mg/dL");
    expect(vitalRangeError("pulse_bpm", "72.5")).toBe("Enter a whole number");
    expect(vitalRangeError("pulse_bpm", "abc")).toBe("Enter a number");
    expect(vitalRangeError("temperature_c", "37,5")).toBeNull();
  });

  it("takes every range from Rust's DOMAIN_RULES, in form order, and covers every field", () => {
    expect(VITAL_RULES.map((rule) => [rule.field, rule.low, rule.high, rule.unit, rule.integer])).toEqual(
      DOMAIN_RULES.vital_signs.map((range) => [range.sign, range.low, range.high, range.unit, range.whole_number]),
    );
    expect(VITAL_RULES.map((rule) => rule.field).sort()).toEqual(Object.keys(emptyVitalInputs()).sort());
    expect(VITAL_RULES.every((rule) => rule.label.length > 0)).toBe(true);
  });

  it("needs at least one value and both blood pressure numbers, systolic higher", () => {
    expect(checkVitals(emptyVitalInputs()).errors).toEqual({ body: "Enter at least one vital sign" });
    expect(checkVitals({ ...emptyVitalInputs(), diastolic_mmhg: "80" }).errors).toEqual({
      "body.systolic_mmhg": "Blood pressure needs both numbers",
    });
    expect(checkVitals({ ...emptyVitalInputs(), systolic_mmhg: "80", diastolic_mmhg: "80" }).errors).toEqual({
      "body.diastolic_mmhg": "The diastolic pressure must be lower than the systolic",
    });
    const ok = checkVitals({ ...emptyVitalInputs(), systolic_mmhg: "120", diastolic_mmhg: "80", temperature_c: "37,5" });
    expect(ok.errors).toEqual({});
    expect(ok.vitals).toMatchObject({ systolic_mmhg: 120, diastolic_mmhg: 80, temperature_c: 37.5, pulse_bpm: null });
  });
});

describe("text limits and the follow-up window", () => {
  it("checks text the way Rust counts it, with Rust's limits", () => {
    expect(textProblem("  ", TEXT_LIMITS.record_text)).toBe("Required");
    expect(textProblem("", TEXT_LIMITS.record_text, true)).toBeUndefined();
    expect(textProblem("a".repeat(TEXT_LIMITS.record_text), TEXT_LIMITS.record_text)).toBeUndefined();
    expect(textProblem("a".repeat(TEXT_LIMITS.record_text + 1), TEXT_LIMITS.record_text)).toBe(
      `At most ${TEXT_LIMITS.record_text} characters (now ${TEXT_LIMITS.record_text + 1})`,
    );
    // One character to Rust, two UTF-16 units to JavaScript.
    expect(textProblem("💊".repeat(TEXT_LIMITS.dose), TEXT_LIMITS.dose)).toBeUndefined();
    expect(TEXT_LIMITS).toEqual(DOMAIN_RULES.text_limits);
  });

  it("accepts whole minutes inside Rust's PRN follow-up window only", () => {
    const { min_minutes: low, max_minutes: high, default_minutes: usual } = DOMAIN_RULES.prn_follow_up;
    for (const ok of [low, usual, high]) expect(followUpProblem(String(ok))).toBeUndefined();
    for (const bad of [String(low - 1), String(high + 1), "45.5", "", "soon"]) {
      expect(followUpProblem(bad)).toBe(`Between ${low} and ${high} minutes`);
    }
  });
});

describe("openFollowUps", () => {
  const base = {
    patient_id: 1,
    author_user_id: 7,
    occurred_at: null,
    written_here: true,
    sync_state: "synced" as const,
    rejection: null,
  };
  const dose: LocalRecord = {
    ...base,
    id: "a",
    recorded_at: "2026-11-27T13:35:00.000Z",
    amends: null,
    correction_reason: null,
    author_name: null,
    body: { kind: "prn_administration", medication: "Acetaminophen", dose: "500 mg", route: "oral", reason: "Pain", follow_up_minutes: 60 },
  };

  it("is due follow_up_minutes after the dose, until a follow-up amends it", () => {
    expect(openFollowUps([dose])).toEqual([{ administration: dose, due: "2026-11-27T14:35:00.000Z" }]);
    const followUp: LocalRecord = {
      ...base,
      id: "b",
      recorded_at: "2026-11-27T14:30:00.000Z",
      amends: "a",
      correction_reason: null,
      author_name: null,
      body: { kind: "prn_follow_up", effectiveness: "effective", note: null },
    };
    expect(openFollowUps([followUp, dose])).toEqual([]);
    expect(summarize(followUp.body)).toBe("Effective");
  });

  it("uses the server's time once it has the dose, and skips rejected doses", () => {
    expect(openFollowUps([{ ...dose, occurred_at: "2026-11-27T13:40:00.000Z" }])[0]?.due).toBe("2026-11-27T14:40:00.000Z");
    expect(openFollowUps([{ ...dose, sync_state: "rejected" }])).toEqual([]);
  });
});

describe("quickMatch", () => {
  const agnes = { id: 1, mrn: "MRN00012", first_name: "Agnes", last_name: "Moore", date_of_birth: null, room: "104B", status: "active" as const, version: 1, ...NO_CARE_DETAILS };
  const bert = { ...agnes, id: 2, mrn: "MRN00013", first_name: "Bertram", last_name: "Ng", room: null };

  it("needs every word in the name, room or MRN, ignoring case", () => {
    expect(quickMatch([agnes, bert], "moore AGNES")).toEqual([agnes]);
    expect(quickMatch([agnes, bert], "104b")).toEqual([agnes]);
    expect(quickMatch([agnes, bert], "mrn0001")).toEqual([agnes, bert]);
    expect(quickMatch([agnes, bert], "  ")).toEqual([agnes, bert]);
    expect(quickMatch([agnes, bert], "agnes ng")).toEqual([]);
  });
});

describe("in Spanish", () => {
  afterEach(() => {
    setDeviceLanguage("en");
    setTimeZone(null);
  });

  it("words labels, checks and summaries when they are read, not when the module loaded", () => {
    expect(KIND_LABELS.vital_signs).toBe("Vital signs");
    const pulse = VITAL_RULES.find((rule) => rule.field === "pulse_bpm")!;
    expect(pulse.label).toBe("Pulse");
    setDeviceLanguage("es");
    expect(KIND_LABELS.vital_signs).toBe("Signos vitales");
    expect(pulse.label).toBe("Pulso");
    expect(STATUS_FILTERS.map((filter) => filter.label)).toEqual(["Todos", "En el centro", "De permiso"]);
    expect(vitalRangeError("respiration_rate", "61")).toBe("61 resp./min no es un valor posible; se espera 4–60 resp./min");
    expect(vitalRangeError("pulse_bpm", "72.5")).toBe("Escriba un número entero");
    expect(checkVitals(emptyVitalInputs()).errors).toEqual({ body: "Escriba al menos un signo vital" });
    expect(textProblem(" ", 10)).toBe("Obligatorio");
    expect(followUpProblem("5")).toBe("Entre 15 y 240 minutos");
    expect(
      summarize({ kind: "prn_administration", medication: "Acetaminofén", dose: "500 mg", route: "oral", reason: "Dolor de cabeza", follow_up_minutes: 60 }),
    ).toBe("Acetaminofén 500 mg, por boca — Dolor de cabeza");
    expect(summarize({ kind: "prn_follow_up", effectiveness: "partially_effective", note: "Sigue inquieta" })).toBe("Parcialmente eficaz — Sigue inquieta");
  });

  it("says when in the facility's time zone and the shown language", () => {
    setTimeZone("America/Chicago");
    const now = new Date("2026-03-15T15:00:00Z");
    // 02:30 UTC on the 15th is 21:30 on the 14th in Chicago: not "today" there.
    expect(formatWhen("2026-03-15T02:30:00Z", now)).toBe("Mar 14 21:30");
    expect(formatWhen("2026-03-15T14:05:00Z", now)).toBe("Today 09:05");
    setDeviceLanguage("es");
    expect(formatWhen("2026-03-15T02:30:00Z", now)).toBe("14 mar, 21:30");
    expect(formatWhen("2026-03-15T14:05:00Z", now)).toBe("Hoy 09:05");
    expect(formatWhen("not a time", now)).toBe("");
  });
});
