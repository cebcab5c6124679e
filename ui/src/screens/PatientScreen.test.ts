import { emit } from "@tauri-apps/api/event";
import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import { setDeviceLanguage, setTimeZone } from "$lib/i18n/index.svelte";
import { NO_CARE_DETAILS } from "../test/fixtures";
import { formatClock } from "$lib/nurse";
import type { LocalRecord, RecordBody, RosterPatient, SyncedFacility } from "$lib/nurse-types";
import { DESKTOP_INFO, mockCommands, Rejection } from "../test/ipc";
import PatientScreen from "./PatientScreen.svelte";

const AGNES: RosterPatient = {
  id: 12,
  mrn: "MRN00012",
  first_name: "Agnes",
  last_name: "Moore",
  date_of_birth: "1938-05-02",
  room: "104B",
  status: "active",
  version: 1,
  ...NO_CARE_DETAILS,
};

function facility(features: Record<string, boolean>): SyncedFacility {
  return {
    id: 2,
    organization_id: 1,
    name: "Sunrise Memory Care",
    facility_type: "MEMORY_CARE",
    timezone: "America/Chicago",
    features,
  };
}

const MINUTE = 60_000;
let next = 0;

function record(body: RecordBody, overrides: Partial<LocalRecord> = {}): LocalRecord {
  next += 1;
  return {
    id: `0190a1b2-0000-7000-8000-${String(next).padStart(12, "0")}`,
    patient_id: 12,
    author_user_id: 7,
    recorded_at: new Date(Date.now() - 10 * MINUTE).toISOString(),
    occurred_at: null,
    amends: null,
    correction_reason: null,
    author_name: null,
    body,
    written_here: true,
    sync_state: "pending",
    rejection: null,
    ...overrides,
  };
}

const NOTE = record({ kind: "care_note", text: "Ate all of breakfast." }, { sync_state: "synced", occurred_at: new Date(Date.now() - 60 * MINUTE).toISOString() });
const GIVEN_AT = new Date(Date.now() - 25 * MINUTE).toISOString();
const PRN = record(
  { kind: "prn_administration", medication: "Acetaminophen", dose: "500 mg", route: "oral", reason: "Headache", follow_up_minutes: 60 },
  { recorded_at: GIVEN_AT },
);
const REJECTED = record(
  { kind: "care_note", text: "Wrong resident" },
  { sync_state: "rejected", rejection: { code: "FORBIDDEN", message: "patient not in facility" } },
);

interface Setup {
  /** The signed-in user's role (the session watcher asks for it). */
  role?: string;
  /** Answers to the workspace's resident edit. */
  edit?: (args: Record<string, unknown>) => unknown;
  features?: Record<string, boolean>;
  timeline?: LocalRecord[] | (() => LocalRecord[]);
  write?: (args: Record<string, unknown>) => unknown;
  roster?: RosterPatient[];
}

function setup({ features = {}, timeline = [], write, roster = [AGNES], role, edit }: Setup = {}) {
  const writes: Record<string, unknown>[] = [];
  const calls = mockCommands({
    ...(role
      ? {
          session_state: { phase: "active", user: { id: 7, full_name: "Rosa Alvarez", username: "ralvarez", role }, failure: null, idle_lock_ms: 600_000, offline: false },
          reader_status: "connected",
          app_info: DESKTOP_INFO,
        }
      : {}),
    ...(edit ? { edit_resident: edit } : {}),
    roster,
    facility_info: facility(features),
    patient_timeline: typeof timeline === "function" ? timeline : () => timeline,
    write_record: (args: Record<string, unknown>) => {
      writes.push(args);
      if (write) return write(args);
      return record(args.body as RecordBody, { amends: (args.amends as string | null) ?? null });
    },
  });
  render(PatientScreen, { id: "12" });
  return { calls, writes };
}

describe("PatientScreen", () => {
  it("shows who the resident is and their documentation with each record's sync state", async () => {
    setup({ timeline: [PRN, NOTE, REJECTED] });
    expect(await screen.findByRole("heading", { level: 1, name: "Agnes Moore" })).toBeInTheDocument();
    const facts = screen.getByTestId("demographics");
    expect(facts).toHaveTextContent("104B");
    expect(facts).toHaveTextContent(/\d+ years/);
    expect(facts).toHaveTextContent("MRN00012");
    expect(facts).toHaveTextContent("In the facility");

    const entries = await screen.findAllByTestId("timeline-entry");
    expect(entries).toHaveLength(3);
    expect(within(entries[0]!).getByTestId("sync-state")).toHaveTextContent("Waiting to sync");
    expect(entries[0]).toHaveTextContent("Acetaminophen 500 mg, by mouth — Headache");
    expect(within(entries[1]!).getByTestId("sync-state")).toHaveTextContent("Synced");
    expect(within(entries[2]!).getByTestId("sync-state")).toHaveTextContent("Not accepted");
    expect(within(entries[2]!).getByTestId("rejection")).toHaveTextContent("don't have permission");
  });

  it("offers behavior events and wandering alerts only when the facility has them on", async () => {
    setup({ features: { behavior_tracking: false, wandering_alerts: false } });
    await screen.findByRole("heading", { level: 1, name: "Agnes Moore" });
    const kinds = screen.getByRole("group", { name: "What are you documenting?" });
    await waitFor(() => expect(within(kinds).getAllByRole("radio")).toHaveLength(3));
    expect(within(kinds).queryByLabelText("Behavior")).not.toBeInTheDocument();
    expect(within(kinds).queryByLabelText("Wandering alert")).not.toBeInTheDocument();
  });

  it("shows behavior and wandering forms when the facility enables them, and writes a behavior event", async () => {
    const { writes } = setup({ features: { behavior_tracking: true, wandering_alerts: true } });
    await screen.findByRole("heading", { level: 1, name: "Agnes Moore" });
    const kinds = screen.getByRole("group", { name: "What are you documenting?" });
    await waitFor(() => expect(within(kinds).getByLabelText("Wandering alert")).toBeInTheDocument());
    await userEvent.click(within(kinds).getByLabelText("Behavior"));
    const form = screen.getByTestId("form-behavior_event");
    await userEvent.selectOptions(within(form).getByLabelText("Behavior"), "exit_seeking");
    await userEvent.type(within(form).getByLabelText("What happened just before"), "Visitors left");
    await userEvent.type(within(form).getByLabelText("What staff did"), "Walked with her to the garden");
    await userEvent.selectOptions(within(form).getByLabelText("Outcome"), "improved");
    await userEvent.click(within(form).getByRole("button", { name: "Save behavior event" }));
    await waitFor(() => expect(writes).toHaveLength(1));
    expect(writes[0]).toEqual({
      patientId: 12,
      amends: null,
      correctionReason: null,
      body: {
        kind: "behavior_event",
        behavior: "exit_seeking",
        antecedent: "Visitors left",
        intervention: "Walked with her to the garden",
        outcome: "improved",
        note: null,
      },
    });
  });

  it("checks vital signs as they are typed, with the plausible ranges", async () => {
    const { writes } = setup();
    await screen.findByRole("heading", { level: 1, name: "Agnes Moore" });
    await userEvent.click(screen.getByLabelText("Vital signs"));
    const form = screen.getByTestId("form-vital_signs");

    // Nothing entered.
    await userEvent.click(within(form).getByRole("button", { name: "Save vital signs" }));
    expect(screen.getByTestId("error-body")).toHaveTextContent("Enter at least one vital sign");

    const pulse = within(form).getByLabelText("Pulse (bpm)");
    await userEvent.type(pulse, "300");
    expect(screen.getByTestId("error-body.pulse_bpm")).toHaveTextContent("300 bpm is not plausible; expected 20–250 bpm");
    expect(pulse).toHaveAttribute("aria-invalid", "true");
    await userEvent.clear(pulse);
    await userEvent.type(pulse, "72");
    expect(screen.queryByTestId("error-body.pulse_bpm")).not.toBeInTheDocument();

    await userEvent.type(within(form).getByLabelText("Temperature (°C)"), "46");
    expect(screen.getByTestId("error-body.temperature_c")).toHaveTextContent("expected 30–45 °C");
    await userEvent.clear(within(form).getByLabelText("Temperature (°C)"));
    await userEvent.type(within(form).getByLabelText("Temperature (°C)"), "37.2");
    await userEvent.type(within(form).getByLabelText("Oxygen saturation (SpO₂) (%)"), "101");
    expect(screen.getByTestId("error-body.spo2_percent")).toHaveTextContent("expected 50–100 %");
    await userEvent.clear(within(form).getByLabelText("Oxygen saturation (SpO₂) (%)"));

    // Blood pressure: both or neither, systolic above diastolic.
    await userEvent.type(within(form).getByLabelText("Blood pressure, systolic (mmHg)"), "120");
    await userEvent.click(within(form).getByRole("button", { name: "Save vital signs" }));
    expect(screen.getByTestId("error-body.diastolic_mmhg")).toHaveTextContent("Blood pressure needs both numbers");
    await userEvent.type(within(form).getByLabelText("Blood pressure, diastolic (mmHg)"), "130");
    expect(screen.getByTestId("error-body.diastolic_mmhg")).toHaveTextContent("The diastolic pressure must be lower than the systolic");
    expect(writes).toHaveLength(0);

    await userEvent.clear(within(form).getByLabelText("Blood pressure, diastolic (mmHg)"));
    await userEvent.type(within(form).getByLabelText("Blood pressure, diastolic (mmHg)"), "80");
    await userEvent.click(within(form).getByRole("button", { name: "Save vital signs" }));
    await waitFor(() => expect(writes).toHaveLength(1));
    expect(writes[0]?.body).toEqual({
      kind: "vital_signs",
      temperature_c: 37.2,
      pulse_bpm: 72,
      respiration_rate: null,
      systolic_mmhg: 120,
      diastolic_mmhg: 80,
      spo2_percent: null,
      pain_score: null,
      blood_glucose_mg_dl: null,
    });
    // Local-first: the record is on the timeline at once, waiting to sync.
    const entry = await screen.findByTestId("timeline-entry");
    expect(entry).toHaveTextContent("Temp 37.2 °C · Pulse 72 · BP 120/80");
    expect(within(entry).getByTestId("sync-state")).toHaveTextContent("Waiting to sync");
    expect(screen.getByTestId("record-saved")).toHaveTextContent("Vital signs saved on this device");
  });

  it("shows the app's field errors on the fields", async () => {
    setup({
      write: () => new Rejection({ code: "VALIDATION_FAILED", message: "invalid record", fields: { "body.text": ["at most 4000 characters"] } }),
    });
    await screen.findByRole("heading", { level: 1, name: "Agnes Moore" });
    const form = screen.getByTestId("form-care_note");
    await userEvent.type(within(form).getByLabelText("Note"), "Long note");
    await userEvent.click(within(form).getByRole("button", { name: "Save note" }));
    expect(await screen.findByTestId("error-body.text")).toHaveTextContent("at most 4000 characters");
    expect(within(form).getByLabelText("Note")).toHaveAttribute("aria-invalid", "true");
  });

  it("says when nobody is signed in", async () => {
    setup({ write: () => new Rejection({ code: "UNAUTHORIZED", message: "no session" }) });
    await screen.findByRole("heading", { level: 1, name: "Agnes Moore" });
    await userEvent.type(screen.getByLabelText("Note"), "Resting");
    await userEvent.click(screen.getByRole("button", { name: "Save note" }));
    expect(await screen.findByTestId("record-error")).toHaveTextContent("Tap your badge to sign in again");
  });

  it("records a PRN dose, reminds when its effectiveness is due, and records the follow-up", async () => {
    const { writes } = setup({ timeline: [PRN] });
    await screen.findByRole("heading", { level: 1, name: "Agnes Moore" });
    const due = await screen.findByTestId("follow-up-due");
    const dueAt = new Date(new Date(GIVEN_AT).getTime() + 60 * MINUTE).toISOString();
    expect(due).toHaveTextContent(`Effectiveness due at ${formatClock(dueAt)}`);

    await userEvent.click(within(due).getByRole("button", { name: "Record effectiveness" }));
    const form = within(due).getByTestId("form-prn_follow_up");
    await userEvent.click(within(form).getByRole("button", { name: "Save follow-up" }));
    expect(within(form).getByTestId("error-body.effectiveness")).toHaveTextContent("Choose how well it worked");
    await userEvent.click(within(form).getByLabelText("Partly effective"));
    await userEvent.type(within(form).getByLabelText("Note (optional)"), "Still a mild headache");
    await userEvent.click(within(form).getByRole("button", { name: "Save follow-up" }));

    await waitFor(() => expect(writes).toHaveLength(1));
    expect(writes[0]).toEqual({
      patientId: 12,
      amends: PRN.id,
      correctionReason: null,
      body: { kind: "prn_follow_up", effectiveness: "partially_effective", note: "Still a mild headache" },
    });
    await waitFor(() => expect(screen.queryByTestId("follow-up-due")).not.toBeInTheDocument());
    expect(screen.getAllByTestId("timeline-entry")[0]).toHaveTextContent("Partly effective — Still a mild headache");
  });

  it("writes a PRN administration with its follow-up time", async () => {
    const { writes } = setup();
    await screen.findByRole("heading", { level: 1, name: "Agnes Moore" });
    await userEvent.click(screen.getByLabelText("PRN medication"));
    const form = screen.getByTestId("form-prn_administration");
    await userEvent.click(within(form).getByRole("button", { name: "Save PRN dose" }));
    expect(within(form).getByTestId("error-body.medication")).toHaveTextContent("Required");
    expect(within(form).getByLabelText("Medication")).toHaveFocus();
    await userEvent.type(within(form).getByLabelText("Medication"), "Lorazepam");
    await userEvent.type(within(form).getByLabelText("Dose"), "0.5 mg");
    await userEvent.selectOptions(within(form).getByLabelText("Route"), "sublingual");
    await userEvent.clear(within(form).getByLabelText("Check effectiveness after (minutes)"));
    await userEvent.type(within(form).getByLabelText("Check effectiveness after (minutes)"), "30");
    await userEvent.type(within(form).getByLabelText("Reason given"), "Anxiety");
    await userEvent.click(within(form).getByRole("button", { name: "Save PRN dose" }));
    await waitFor(() => expect(writes).toHaveLength(1));
    expect(writes[0]?.body).toEqual({
      kind: "prn_administration",
      medication: "Lorazepam",
      dose: "0.5 mg",
      route: "sublingual",
      reason: "Anxiety",
      follow_up_minutes: 30,
    });
    expect(await screen.findByTestId("follow-up-due")).toHaveTextContent("Effectiveness due at");
  });

  it("turns 'waiting to sync' into 'synced' when the timeline refreshes", async () => {
    let synced = false;
    setup({ timeline: () => [{ ...NOTE, sync_state: synced ? "synced" : "pending" }] });
    const state = await screen.findByTestId("sync-state");
    expect(state).toHaveTextContent("Waiting to sync");
    synced = true;
    await userEvent.click(screen.getByTestId("timeline-refresh"));
    await waitFor(() => expect(screen.getByTestId("sync-state")).toHaveTextContent("Synced"));
  });

  it("refreshes the timeline when sync reports progress", async () => {
    let synced = false;
    setup({ timeline: () => [{ ...NOTE, sync_state: synced ? "synced" : "pending" }] });
    expect(await screen.findByTestId("sync-state")).toHaveTextContent("Waiting to sync");
    synced = true;
    await emit("sync-status-changed", { online: true, syncing: false, pending: 0 });
    await waitFor(() => expect(screen.getByTestId("sync-state")).toHaveTextContent("Synced"));
  });

  it("explains a resident who isn't on this device", async () => {
    setup({ roster: [] });
    expect(await screen.findByRole("heading", { name: "This resident isn't on this device" })).toBeInTheDocument();
  });

  it("shows an empty timeline in plain words", async () => {
    setup();
    expect(await screen.findByRole("heading", { name: "Nothing documented yet" })).toBeInTheDocument();
  });

  it("follows the path to another resident", async () => {
    const bert: RosterPatient = { ...AGNES, id: 13, first_name: "Bertram", last_name: "Ng", room: "105" };
    const timelines: number[] = [];
    mockCommands({
      roster: [AGNES, bert],
      facility_info: null,
      patient_timeline: (args: Record<string, unknown>) => {
        timelines.push(args.patientId as number);
        expect(args.limit).toBe(50);
        return [];
      },
    });
    const { rerender } = render(PatientScreen, { id: "12" });
    expect(await screen.findByRole("heading", { level: 1, name: "Agnes Moore" })).toBeInTheDocument();
    await rerender({ id: "13" });
    expect(await screen.findByRole("heading", { level: 1, name: "Bertram Ng" })).toBeInTheDocument();
    expect(timelines).toEqual([12, 13]);
  });

  it("says when the chart can't be opened", async () => {
    mockCommands({ roster: new Rejection({ code: "STORAGE_UNAVAILABLE", message: "EIO" }), facility_info: null, patient_timeline: [] });
    render(PatientScreen, { id: "12" });
    expect(await screen.findByTestId("patient-error")).toHaveTextContent("This resident's details couldn't be opened");
  });

  it("raises a wandering alert when the facility tracks wandering", async () => {
    const { writes } = setup({ features: { wandering_alerts: true } });
    await screen.findByRole("heading", { level: 1, name: "Agnes Moore" });
    await userEvent.click(await screen.findByLabelText("Wandering alert"));
    const form = screen.getByTestId("form-wandering_alert");
    await userEvent.selectOptions(within(form).getByLabelText("What is happening"), "missing");
    await userEvent.click(within(form).getByRole("button", { name: "Raise wandering alert" }));
    expect(within(form).getByTestId("error-body.location")).toHaveTextContent("Required");
    await userEvent.type(within(form).getByLabelText("Where"), "Garden");
    await userEvent.click(within(form).getByRole("button", { name: "Raise wandering alert" }));
    await waitFor(() => expect(writes).toHaveLength(1));
    expect(writes[0]?.body).toEqual({ kind: "wandering_alert", alert: "missing", location: "Garden", note: null });
    expect(await screen.findByTestId("timeline-entry")).toHaveTextContent("Missing: Garden");
  });

  it("shows a field error it has no field for as an alert", async () => {
    setup({
      write: () => new Rejection({ code: "VALIDATION_FAILED", message: "The route isn't one Tend knows", fields: { "body.route": ["unknown route"] } }),
    });
    await screen.findByRole("heading", { level: 1, name: "Agnes Moore" });
    await userEvent.type(screen.getByLabelText("Note"), "Resting");
    await userEvent.click(screen.getByRole("button", { name: "Save note" }));
    expect(await screen.findByTestId("record-error")).toHaveTextContent("The route isn't one Tend knows");
  });

  it("marks a PRN follow-up that is overdue", async () => {
    const late = { ...PRN, id: "0190a1b2-0000-7000-8000-00000000abcd", recorded_at: new Date(Date.now() - 90 * MINUTE).toISOString() };
    setup({ timeline: [late] });
    expect(await screen.findByTestId("follow-up-due")).toHaveTextContent("Effectiveness overdue since");
  });

  it("shows the care details, and lets a nurse who may edit them save a change", async () => {
    const user = userEvent.setup();
    const edits: Record<string, unknown>[] = [];
    const withCare: RosterPatient = {
      ...AGNES,
      allergies: "Latex",
      code_status: "dnr_dni",
      fall_risk: "moderate",
      emergency_contact: { name: "Cora Moore", relationship: "Daughter", phone: "503 555 0142" },
    };
    setup({
      roster: [withCare],
      role: "RN",
      edit: (args) => {
        edits.push(args);
        return { outcome: "saved", resident: { ...withCare, facility_id: 2, discharged_at: null, diet: "Pureed", version: 2 } };
      },
    });
    const care = await screen.findByTestId("care-details");
    expect(within(care).getByTestId("care-allergies")).toHaveTextContent("Latex");
    expect(within(care).getByTestId("care-code-status")).toHaveTextContent("DNR / DNI");
    expect(within(care).getByTestId("care-diet")).toHaveTextContent("Not recorded");
    expect(within(care).getByTestId("care-fall-risk")).toHaveTextContent("Moderate");
    expect(within(care).getByTestId("care-contact")).toHaveTextContent("Cora Moore (Daughter), 503 555 0142");
    await user.click(await screen.findByTestId("resident-edit"));
    await user.type(screen.getByLabelText(/^Diet/), "Pureed");
    await user.click(screen.getByTestId("nurse-resident-save"));
    expect(await screen.findByTestId("resident-managed")).toHaveTextContent("Saved.");
    expect(edits[0]).toMatchObject({ resident: { id: 12, facility_id: 2, version: 1 }, draft: { diet: "Pureed", allergies: "Latex", code_status: "dnr_dni" } });
  });

  it("offers no editing to a role that may not manage residents", async () => {
    setup({ role: "CNA" });
    await screen.findByTestId("care-details");
    await waitFor(() => expect(screen.getByTestId("care-allergies")).toHaveTextContent("Not recorded"));
    expect(screen.queryByTestId("resident-edit")).not.toBeInTheDocument();
    expect(screen.queryByTestId("resident-discharge")).not.toBeInTheDocument();
  });

  it("corrects a vital sign: the original stays, struck through, with who, when and why", async () => {
    const user = userEvent.setup();
    const vitals = record({ kind: "vital_signs", temperature_c: null, pulse_bpm: 160, respiration_rate: null, systolic_mmhg: null, diastolic_mmhg: null, spo2_percent: null, pain_score: null, blood_glucose_mg_dl: null }, { sync_state: "synced", author_name: "Rosa Alvarez" });
    let timeline: LocalRecord[] = [vitals];
    const { writes } = setup({
      timeline: () => timeline,
      write: (args) => {
        const written = record(args.body as RecordBody, {
          amends: args.amends as string,
          correction_reason: args.correctionReason as string,
          author_name: "Rosa Alvarez",
          recorded_at: new Date().toISOString(),
        });
        timeline = [written, vitals];
        return written;
      },
    });
    const entry = await screen.findByTestId("timeline-entry");
    await user.click(within(entry).getByTestId("correct-open"));
    const form = within(entry).getByTestId("correction-form");
    const pulse = within(form).getByLabelText(/Pulse/);
    expect(pulse).toHaveValue("160");
    // No reason: the form says so and writes nothing.
    await user.click(within(form).getByRole("button", { name: "Save correction" }));
    expect(await within(form).findByText(/Say why you are correcting it/)).toBeInTheDocument();
    expect(writes).toHaveLength(0);
    await user.clear(pulse);
    await user.type(pulse, "60");
    await user.type(within(form).getByLabelText("Why are you correcting it?"), "Typed 160, the pulse was 60");
    await user.click(within(form).getByRole("button", { name: "Save correction" }));
    await waitFor(() => expect(writes).toHaveLength(1));
    expect(writes[0]).toMatchObject({ patientId: 12, amends: vitals.id, correctionReason: "Typed 160, the pulse was 60" });
    expect((writes[0]!.body as { pulse_bpm: number }).pulse_bpm).toBe(60);

    const entries = await screen.findAllByTestId("timeline-entry");
    expect(entries).toHaveLength(2);
    const original = entries.find((e) => e.getAttribute("data-record-id") === vitals.id)!;
    expect(within(original).getByTestId("corrected-summary").querySelector("del")).toHaveTextContent("Pulse 160");
    expect(within(original).getByTestId("corrected-by")).toHaveTextContent("Corrected by Rosa Alvarez");
    expect(within(original).getByTestId("corrected-by")).toHaveTextContent("“Typed 160, the pulse was 60”");
    expect(within(original).queryByTestId("correct-open")).not.toBeInTheDocument();
  });
});

describe("PatientScreen in Spanish", () => {
  afterEach(() => {
    setDeviceLanguage("en");
    setTimeZone(null);
  });

  it("shows the chart, the record kinds and a saved record's message in Spanish", async () => {
    setDeviceLanguage("es");
    const user = userEvent.setup();
    setup({ timeline: [NOTE], features: { behavior_tracking: true, wandering_alerts: true } });
    expect(await screen.findByRole("heading", { level: 1, name: "Agnes Moore" })).toBeInTheDocument();
    const facts = screen.getByTestId("demographics");
    expect(facts).toHaveTextContent("Habitación");
    expect(facts).toHaveTextContent(/\d+ años/);
    expect(facts).toHaveTextContent("En el centro");
    expect(screen.getByRole("heading", { name: "Datos de cuidado" })).toBeInTheDocument();
    expect(screen.getByTestId("care-code-status")).toHaveTextContent("Sin registrar");
    expect(screen.getByTestId("care-fall-risk")).toHaveTextContent("Sin evaluar");

    const kinds = screen.getByRole("group", { name: "¿Qué va a documentar?" });
    await waitFor(() => expect(within(kinds).getAllByRole("radio")).toHaveLength(5));
    for (const name of ["Nota de cuidado", "Signos vitales", "Evento de conducta", "Medicamento PRN", "Alerta de deambulación"]) {
      expect(within(kinds).getByLabelText(name)).toBeInTheDocument();
    }
    const entry = (await screen.findAllByTestId("timeline-entry"))[0]!;
    expect(entry).toHaveTextContent("Nota de cuidado");
    expect(within(entry).getByTestId("sync-state")).toHaveTextContent("Sincronizado");

    await user.type(screen.getByLabelText("Nota"), "Desayunó todo.");
    await user.click(screen.getByRole("button", { name: "Guardar nota" }));
    expect(await screen.findByTestId("record-saved")).toHaveTextContent("Nota de cuidado guardada en este dispositivo. Se sincronizará automáticamente.");
  });
});
