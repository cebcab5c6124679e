// A nurse documents a PRN dose while the server is down and sees it sync once the server
// is back, in the real window against the real central API and the PC/SC test reader:
// the demo nurse's badge and PIN (tend-api seed.rs, Sunrise ALF - North Campus), the
// first sync, a resident; then the API stops, the dose is written (waiting to sync, the
// status bar offline with one change pending, "Due soon" on the home lists its
// effectiveness check); the API starts again on the same port and database, and the
// record turns synced with nobody touching anything, and the server holds it exactly
// once. Last, the effectiveness is recorded from "Due soon" and reaches the server too.

import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { expectAccessible, expectReadableAt200Percent } from "../lib/axe.ts";
import { type App, launchApp } from "../lib/app.ts";
import { enroll, enterPin, lockVirtualReader, tapBadge, waitForHash, waitForReader } from "../lib/badge.ts";
import { CentralApi, fakeMachine } from "../lib/central.ts";

/** sunrise-north.rn1's demo badge and PIN (tend-api `DEMO_BADGES`). */
const NURSE = { username: "sunrise-north.rn1", badge: "04D3A1B2C3D401", pin: "4826" };
const DOSE = { medication: "Acetaminophen", dose: "500 mg", reason: "Headache, pain 5 of 10", followUpMinutes: "45" };
/** Reconnecting is noticed by the next heartbeat (5 s here); sync's own back-off reaches a minute. */
const SYNC_TIMEOUT_MS = 90_000;

interface ServerRecord {
  id: string;
  amends: string | null;
  body: { kind: string; medication?: string; effectiveness?: string };
}

/** Sets the input a form labels `label` (within the element with test id `within`). */
async function fill(app: App, within: string, label: string, value: string): Promise<void> {
  const form = app.testId(within);
  const forId = await form.$(`.//label[normalize-space()="${label}"]`).getAttribute("for");
  assert.ok(forId, `no label "${label}" in ${within}`);
  const input = form.$(`[id="${forId}"]`);
  await input.clearValue();
  await input.setValue(value);
}

/** The sync state the timeline shows for a record (pending, synced, rejected). */
async function syncStateOf(app: App, recordId: string): Promise<string | null> {
  const entry = app.browser.$(`[data-testid="timeline-entry"][data-record-id="${recordId}"]`);
  return (await entry.isExisting()) ? entry.getAttribute("data-sync") : null;
}

describe("nurse PRN offline", () => {
  const api = new CentralApi("nurse-prn", "sunrise-north.facilityadmin1");
  const cleanups: Array<() => unknown> = [];
  let app: App;
  let nurseName: string;
  let resident: { id: number; name: string };
  let recordId: string;

  async function serverRecords(): Promise<ServerRecord[]> {
    return (await api.request("GET", `/api/patients/${resident.id}/records?limit=200`)).items;
  }

  before(
    async () => {
      await api.start();
      const users: Array<{ username: string; full_name: string }> = (
        await api.request("GET", `/api/users?facility_id=${api.facilityId}&limit=100`)
      ).items;
      const nurse = users.find((u) => u.username === NURSE.username);
      assert.ok(nurse, `the demo facility has no ${NURSE.username}`);
      nurseName = nurse.full_name;

      const reader = await lockVirtualReader();
      cleanups.push(() => new Promise<void>((r) => reader.close(() => r())));
      const machine = fakeMachine();
      cleanups.push(() => rmSync(machine, { recursive: true, force: true }));
      app = await launchApp({
        name: "nurse-prn",
        profile: "desktop",
        // Heartbeats every 5 s (default 60) tell the status bar within seconds that the
        // server is gone, and that it is back (which also wakes sync).
        env: { TEND_DEBUG_IDENTITY_ROOT: machine, TEND_HEARTBEAT_INTERVAL_SECS: "5" },
      });
      cleanups.push(() => app.close());
      await enroll(app, api);
      await waitForReader(app, "connected");
    },
    { timeout: 180_000 },
  );
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await api.stop();
  });

  test("the nurse signs in with her badge and PIN after the first sync; nothing is due, the last shift's notes are there", async () => {
    await app.waitForText("status-last-sync", /Synced/, 60_000);
    await tapBadge(NURSE.badge);
    await enterPin(app, NURSE.pin);
    await waitForHash(app, "#/home", "the nurse did not reach her home screen");
    await app.waitForText("home-signed-in", nurseName);
    await app.waitFor("home-residents");
    await app.waitForText("due-soon", "Nothing due");
    // The night shift's care notes (seed-demo: by the second nurse and the CNA), not her own.
    const handoff = await app.waitForText("handoff-list", "Daughter called, visiting this afternoon");
    assert.doesNotMatch(handoff, /A former colleague/, "authors come from the synced staff list");
    assert.doesNotMatch(handoff, new RegExp(nurseName), "her own notes are not a hand-off");
    assert.equal((await app.browser.$$('[data-testid="handoff-note"]')).length, 5);
    await expectAccessible(app, "the nurse home");
    await app.screenshot("1-home");
  });

  test("she opens a resident from the list", async () => {
    await app.testId("nav-patients").click();
    await waitForHash(app, "#/patients", "Residents did not open");
    const row = await app.waitFor("patient-row");
    await app.screenshot("1b-residents");
    await expectAccessible(app, "the residents list");
    await expectReadableAt200Percent(app, "the residents list");
    const id = Number(await row.getAttribute("data-patient-id"));
    assert.ok(id > 0, "the first resident row names no resident");
    await row.click();
    await waitForHash(app, `#/patients/${id}`, "the resident did not open");
    await app.waitFor("demographics");
    const name = await app.browser.$("#screen-title").getText();
    resident = { id, name };
    assert.equal((await serverRecords()).length, 0, "the demo resident already has records");
    await app.screenshot("2-resident");
  });

  test("with the server down, the PRN dose is kept on the device, waiting to sync", async () => {
    await api.stopServer();
    await app.testId("kind-prn_administration").click();
    await app.waitFor("form-prn_administration");
    await fill(app, "form-prn_administration", "Medication", DOSE.medication);
    await fill(app, "form-prn_administration", "Dose", DOSE.dose);
    await fill(app, "form-prn_administration", "Check effectiveness after (minutes)", DOSE.followUpMinutes);
    await fill(app, "form-prn_administration", "Reason given", DOSE.reason);
    await app.testId("form-prn_administration").$('[data-testid="record-save"]').click();
    await app.waitForText("record-saved", "PRN medication saved on this device");

    const entry = app.browser.$('[data-testid="timeline-entry"]');
    await entry.waitForDisplayed();
    recordId = (await entry.getAttribute("data-record-id")) ?? "";
    assert.match(recordId, /^[0-9a-f-]{36}$/);
    assert.equal(await syncStateOf(app, recordId), "pending");
    assert.match(await entry.getText(), /Waiting to sync/);
    assert.match(await entry.getText(), new RegExp(`${DOSE.medication} ${DOSE.dose}`));
    assert.match(await entry.getText(), /Effectiveness due at/);

    // The status bar: the server is unreachable and one change waits.
    await app.waitForText("status-pending", "1 change waiting to sync", 15_000);
    await app.browser.waitUntil(async () => (await app.testId("status-connection").getAttribute("data-state")) === "offline", {
      timeout: 30_000,
      timeoutMsg: "the status bar never said offline while the server was down",
    });
    await expectAccessible(app, "the resident view, offline with a record waiting");
    await app.screenshot("3-offline-pending");
  });

  test("offline, the nurse home's Due soon lists the dose's effectiveness check", async () => {
    await app.testId("nav-home").click();
    await waitForHash(app, "#/home", "Home did not open");
    const item = app.browser.$(`[data-testid="due-item"][data-administration-id="${recordId}"]`);
    await item.waitForDisplayed({ timeout: 10_000, timeoutMsg: "Due soon does not list the dose written offline" });
    const text = await item.getText();
    assert.match(text, new RegExp(resident.name));
    assert.match(text, new RegExp(`PRN ${DOSE.medication} ${DOSE.dose}`));
    assert.match(text, /waiting to sync/);
    assert.match(text, /Effectiveness due at/);
    assert.equal(await item.getAttribute("data-overdue"), "false");
    await expectAccessible(app, "the nurse home with a follow-up due");
    await expectReadableAt200Percent(app, "the nurse home with a follow-up due");
    await app.screenshot("4-due-soon-offline");
    // A portrait 10" tablet is about 800 px wide: the cards stack and still read at 200 %.
    const { width, height } = await app.browser.getWindowSize();
    await app.browser.setWindowSize(800, height);
    try {
      await app.browser.waitUntil(async () => (await app.browser.execute(() => window.innerWidth)) <= 800, {
        timeout: 5_000,
        timeoutMsg: "the window did not narrow to 800 px",
      });
      await item.waitForDisplayed();
      await expectReadableAt200Percent(app, "the nurse home with a follow-up due, 800 px wide");
      await app.screenshot("4b-due-soon-800px");
    } finally {
      await app.browser.setWindowSize(width, height);
    }
  });

  test("the server comes back: the record syncs without anyone acting, and the server has it once", async () => {
    await api.restartServer();
    // Nobody touches the window: the home's Due soon item loses "waiting to sync".
    const item = app.browser.$(`[data-testid="due-item"][data-administration-id="${recordId}"]`);
    await app.browser.waitUntil(async () => !/waiting to sync/.test(await item.getText()), {
      timeout: SYNC_TIMEOUT_MS,
      interval: 500,
      timeoutMsg: "the dose never synced after the server came back",
    });
    await app.waitForText("status-pending", "Nothing waiting to sync", 15_000);
    await app.screenshot("5-home-synced");

    const records = await serverRecords();
    assert.equal(records.filter((r) => r.id === recordId).length, 1, "the server does not hold the dose exactly once");
    assert.equal(records.length, 1);
    assert.equal(records[0]?.body.kind, "prn_administration");
    assert.equal(records[0]?.body.medication, DOSE.medication);

    await app.goto(`#/patients/${resident.id}`);
    await app.browser.waitUntil(async () => (await syncStateOf(app, recordId)) === "synced", {
      timeout: 10_000,
      timeoutMsg: "the resident's timeline does not show the dose synced",
    });
    const entry = app.browser.$(`[data-testid="timeline-entry"][data-record-id="${recordId}"]`);
    assert.match(await entry.getText(), /Synced/);
    await app.screenshot("6-resident-synced");
  });

  test("the effectiveness recorded from Due soon clears it and reaches the server", async () => {
    await app.testId("nav-home").click();
    await waitForHash(app, "#/home", "Home did not open");
    const item = app.browser.$(`[data-testid="due-item"][data-administration-id="${recordId}"]`);
    await item.waitForDisplayed();
    await item.$('[data-testid="due-record"]').click();
    const form = item.$('[data-testid="form-prn_follow_up"]');
    await form.waitForDisplayed();
    await form.$('.//label[contains(normalize-space(), "Partly effective")]').click();
    await form.$('[data-testid="record-save"]').click();
    await app.waitForText("due-saved", "saved on this device");
    await app.waitForText("due-soon", "Nothing due");
    await app.screenshot("7-followed-up");

    let followUps: ServerRecord[] = [];
    await app.browser.waitUntil(
      async () => {
        followUps = (await serverRecords()).filter((r) => r.body.kind === "prn_follow_up");
        return followUps.length > 0;
      },
      { timeout: 30_000, interval: 500, timeoutMsg: "the follow-up never reached the server" },
    );
    assert.equal(followUps.length, 1);
    assert.equal(followUps[0]?.amends, recordId);
    assert.equal(followUps[0]?.body.effectiveness, "partially_effective");
  });

  test("a vital sign typed wrong is corrected: both on the server, the original struck through and unchanged", async () => {
    await app.goto(`#/patients/${resident.id}`);
    await app.testId("kind-vital_signs").click();
    await app.waitFor("form-vital_signs");
    await fill(app, "form-vital_signs", "Pulse (bpm)", "160");
    await app.testId("form-vital_signs").$('[data-testid="record-save"]').click();
    await app.waitForText("record-saved", "Vital signs saved on this device");
    const entry = app.browser.$('[data-testid="timeline-entry"]');
    await entry.waitForDisplayed();
    const originalId = (await entry.getAttribute("data-record-id")) ?? "";

    await entry.$('[data-testid="correct-open"]').click();
    await app.waitFor("correction-form");
    await expectAccessible(app, "the correction form");
    await expectReadableAt200Percent(app, "the correction form");
    await fill(app, "correction-form", "Pulse (bpm)", "60");
    await fill(app, "correction-form", "Why are you correcting it?", "Typed 160, the pulse was 60");
    await app.testId("correction-form").$('[data-testid="record-save"]').click();
    const original = app.browser.$(`[data-testid="timeline-entry"][data-record-id="${originalId}"]`);
    await original.$('[data-testid="corrected-by"]').waitForDisplayed({ timeout: 10_000 });
    assert.match(await original.$('[data-testid="corrected-by"]').getText(), new RegExp(`Corrected by ${nurseName}.*Typed 160, the pulse was 60`));
    assert.match(await original.$("del").getText(), /Pulse 160/);
    await original.scrollIntoView({ block: "center" });
    await app.screenshot("8-corrected");

    let vitals: Array<ServerRecord & { correction_reason?: string | null; body: { pulse_bpm?: number } }> = [];
    await app.browser.waitUntil(
      async () => {
        vitals = (await serverRecords()).filter((r) => r.body.kind === "vital_signs") as typeof vitals;
        return vitals.length === 2;
      },
      { timeout: SYNC_TIMEOUT_MS, interval: 500, timeoutMsg: "the vital signs and their correction never both reached the server" },
    );
    const first = vitals.find((r) => r.id === originalId);
    const fixed = vitals.find((r) => r.id !== originalId);
    assert.equal(first?.body.pulse_bpm, 160, "the original is unchanged on the server");
    assert.equal(first?.correction_reason ?? null, null);
    assert.equal(fixed?.amends, originalId);
    assert.equal(fixed?.body.pulse_bpm, 60);
    assert.equal(fixed?.correction_reason, "Typed 160, the pulse was 60");
  });
});
