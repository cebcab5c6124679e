import { render, screen, within } from "@testing-library/svelte";
import { afterEach, describe, expect, it } from "vitest";
import { setDeviceLanguage, setTimeZone } from "$lib/i18n/index.svelte";
import type { LocalRecord, RecordBody } from "$lib/nurse-types";
import Timeline from "./Timeline.svelte";

const VITALS: RecordBody = {
  kind: "vital_signs",
  temperature_c: null,
  pulse_bpm: 160,
  respiration_rate: null,
  systolic_mmhg: 120,
  diastolic_mmhg: 80,
  spo2_percent: null,
  pain_score: null,
  blood_glucose_mg_dl: null,
};

function record(id: number, body: RecordBody, occurredAt: string, overrides: Partial<LocalRecord> = {}): LocalRecord {
  return {
    id: `0190a1b2-0000-7000-8000-${String(id).padStart(12, "0")}`,
    patient_id: 12,
    author_user_id: 7,
    recorded_at: occurredAt,
    occurred_at: occurredAt,
    amends: null,
    correction_reason: null,
    author_name: "Rosa Alvarez",
    body,
    written_here: true,
    sync_state: "synced",
    rejection: null,
    ...overrides,
  };
}

// 02:30 UTC on 15 March is 21:30 on the 14th in Chicago; "now" is the 15th there.
const ORIGINAL = record(1, VITALS, "2026-03-15T02:30:00Z");
const CORRECTION = record(2, { ...VITALS, pulse_bpm: 60 }, "2026-03-15T03:05:00Z", {
  amends: ORIGINAL.id,
  correction_reason: "Typed 160, the pulse was 60",
});
const NOTE = record(3, { kind: "care_note", text: "Durmió bien." }, "2026-03-15T14:00:00Z", { sync_state: "pending" });
const NOW = new Date("2026-03-15T15:00:00Z");

describe("Timeline in Spanish, in the facility's time zone", () => {
  afterEach(() => {
    setDeviceLanguage("en");
    setTimeZone(null);
  });

  it("names record kinds, the correction and its times in Spanish", () => {
    setTimeZone("America/Chicago");
    setDeviceLanguage("es");
    render(Timeline, { records: [NOTE, CORRECTION, ORIGINAL], patientId: 12, onwritten: () => undefined, now: NOW });
    const [note, correction, original] = screen.getAllByTestId("timeline-entry");
    expect(note).toHaveTextContent("Nota de cuidado");
    expect(note).toHaveTextContent("Hoy 09:00");
    expect(within(note!).getByTestId("sync-state")).toHaveTextContent("Esperando sincronización");
    expect(within(note!).getByRole("button", { name: "Corregir esta nota de cuidado de Hoy 09:00" })).toBeInTheDocument();

    expect(original).toHaveTextContent("Signos vitales");
    expect(original).toHaveTextContent("14 mar, 21:30");
    expect(within(original!).getByTestId("corrected-summary").querySelector("del")).toHaveTextContent("Pulso 160 · PA 120/80");
    expect(within(original!).getByTestId("corrected-by")).toHaveTextContent(
      "Corregido por Rosa Alvarez, 14 mar, 22:05: «Typed 160, the pulse was 60»",
    );
    expect(within(correction!).getByTestId("correction-reason")).toHaveTextContent("Corrección de Rosa Alvarez: «Typed 160, the pulse was 60»");
    expect(within(correction!).getByTestId("sync-state")).toHaveTextContent("Sincronizado");
  });

  it("says the same in English, on the 24-hour clock at the facility", () => {
    setTimeZone("America/Chicago");
    render(Timeline, { records: [NOTE, CORRECTION, ORIGINAL], patientId: 12, onwritten: () => undefined, now: NOW });
    const [note, , original] = screen.getAllByTestId("timeline-entry");
    expect(note).toHaveTextContent("Today 09:00");
    expect(within(original!).getByTestId("corrected-by")).toHaveTextContent("Corrected by Rosa Alvarez, Mar 14 22:05: “Typed 160, the pulse was 60”");
  });
});
