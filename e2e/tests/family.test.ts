// The family kiosk in the real window against the real central API: staff of a demo
// facility share a day summary, an activity and a message for a resident and issue a
// visitor code; the app (enrolled as a device of that facility) checks the visitor in on
// the keypad. A wrong code is explained in plain words; the right one shows only what was
// shared (never the resident's record number, surname or birth date); Spanish works; a
// message reaches the care team; and after the idle time the kiosk is back at its
// welcome screen. Every family screen passes axe and reads at 200 % text.

import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { type App, launchApp } from "../lib/app.ts";
import { expectAccessible, expectReadableAt200Percent } from "../lib/axe.ts";
import { CentralApi, fakeMachine } from "../lib/central.ts";

/** The kiosk's idle reset for this journey (long enough for axe, short enough to wait for). */
const IDLE_SECS = 20;

async function check(app: App, screen: string): Promise<void> {
  await expectAccessible(app, screen);
  await expectReadableAt200Percent(app, screen);
  await app.screenshot(screen);
}

async function step(app: App): Promise<string> {
  return app.browser.execute(() => document.querySelector("[data-testid=family]")?.getAttribute("data-step") ?? "");
}

async function keypad(app: App, digits: string): Promise<void> {
  await app.testId("family-clear").click();
  for (const digit of digits.replace(/\D/g, "")) await app.testId(`family-key-${digit}`).click();
}

describe("family", () => {
  const api = new CentralApi("family");
  const secrets = { mrn: `MRN-CLINICAL-${Date.now()}` };
  let patient: { id: number; first_name: string; last_name: string; date_of_birth: string };
  let code = "";
  before(async () => {
    await api.start();
    const facility = await api.request("GET", `/api/facilities/${api.facilityId}`);
    assert.equal(facility.features.family_portal, true, "the demo facility has the family portal off");
    const patients = await api.request("GET", `/api/patients?facility_id=${api.facilityId}&status=active&limit=1`);
    patient = patients.items[0];
    assert.ok(patient, "the demo facility has no active resident");
    // Something clinical-looking staff record elsewhere: it must never reach the kiosk.
    await api.request("PUT", `/api/patients/${patient.id}`, { mrn: secrets.mrn });
    const share = (kind: string, body: string) =>
      api.request("POST", `/api/patients/${patient.id}/family-updates`, { kind, body });
    await share("day_summary", "A calm morning, and she enjoyed her lunch in the garden.");
    await share("activity", "Sang along at the music circle.");
    await share("message", "She asked us to say hello to the grandchildren.");
    const issued = await api.request("POST", `/api/patients/${patient.id}/visitor-codes`, {
      visitor_name: "Ana",
      relationship: "daughter",
    });
    code = issued.code;
    assert.match(code, /^\d{4} \d{4}$/);
  }, { timeout: 120_000 });
  after(() => api.stop());

  test("family: a visitor checks in with a code and sees only what staff shared", async (t) => {
    const machine = fakeMachine();
    t.after(() => rmSync(machine, { recursive: true, force: true }));
    const app = await launchApp({
      name: "family",
      profile: "kiosk",
      env: { TEND_DEBUG_IDENTITY_ROOT: machine, TEND_FAMILY_IDLE_SECS: String(IDLE_SECS) },
    });
    t.after(() => app.close());
    const { browser } = app;

    // Enroll the kiosk as a device of the demo facility.
    await app.waitFor("server-url-input", 30_000);
    await app.type("server-url-input", api.base);
    await app.testId("server-url-check").click();
    await app.waitFor("enrollment-code-input");
    await app.type("enrollment-code-input", await api.newCode());
    await app.testId("enroll-submit").click();
    await browser.waitUntil(async () => (await browser.execute(() => window.location.hash)) === "#/lock", {
      timeout: 30_000,
      timeoutMsg: "the enrolled kiosk did not reach the lock screen",
    });

    await app.goto("family");
    await app.waitFor("family-visit");
    await check(app, "family-1-welcome");

    await app.testId("family-visit").click();
    await app.waitFor("family-key-1");
    await check(app, "family-2-code");

    // A wrong code: plain words, no visit.
    const wrong = code.replace(/\d$/, (d) => String((Number(d) + 1) % 10));
    await keypad(app, wrong);
    await app.testId("family-submit").click();
    await app.waitForText("family-code-error", "That code didn't work. Check it with the staff.", 30_000);
    await check(app, "family-3-wrong-code");

    // The right code: the resident's day, only the shared items.
    await keypad(app, code);
    await app.testId("family-submit").click();
    await app.waitForText("family-day-summary", "A calm morning, and she enjoyed her lunch in the garden.", 30_000);
    await app.waitForText("family-activities", "Sang along at the music circle.");
    await app.waitForText("family-messages", "She asked us to say hello to the grandchildren.");
    await app.waitForText("family-day-title", `${patient.first_name} ${patient.last_name[0]}.`);
    const page = await browser.execute(() => document.body.innerText);
    for (const secret of [secrets.mrn, patient.last_name, patient.date_of_birth]) {
      assert.ok(!page.includes(secret), `the kiosk shows ${secret}`);
    }
    await check(app, "family-4-day");

    // Spanish on the same step.
    await app.testId("family-language").click();
    await app.waitForText("family-day-title", `El día de ${patient.first_name}`);
    await app.waitForText("family-leave-message", "Dejar un mensaje al equipo");
    await check(app, "family-5-day-spanish");

    // A message for the team, in Spanish.
    await app.testId("family-leave-message").click();
    await app.waitFor("family-message-body");
    const note = `Por favor díganle que la visito el domingo (${Date.now()}).`;
    await app.type("family-message-body", note);
    await check(app, "family-6-message");
    await app.testId("family-send").click();
    await app.waitForText("family-thanks", "Gracias", 30_000);
    await check(app, "family-7-thanks");
    const inbox = await api.request("GET", `/api/patients/${patient.id}/family-messages`);
    const received = inbox.items.find((m: { body: string }) => m.body === note);
    assert.ok(received, "the care team did not get the message");
    assert.equal(received.visitor_name, "Ana");

    // Untouched, the kiosk goes back to its welcome screen, in English, with nothing of the visit.
    await browser.waitUntil(async () => (await step(app)) === "welcome", {
      timeout: (IDLE_SECS + 15) * 1000,
      interval: 500,
      timeoutMsg: "the kiosk did not return to its welcome screen after the idle time",
    });
    await app.waitForText("family-visit", "Visit someone");
    const after = await browser.execute(() => document.body.innerText);
    assert.ok(!after.includes("A calm morning"), "the visit is still on screen after the idle reset");
    await check(app, "family-8-idle-reset");
  });
});
