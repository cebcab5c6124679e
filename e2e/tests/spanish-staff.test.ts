// A nurse's day in Spanish, in the real window against the real central API and the
// PC/SC test reader (issue 18 part 7): the device is switched to Spanish on its lock
// screen; the demo nurse taps her badge, enters her PIN, opens a resident and writes a
// care note — every screen on the way in Spanish (the words checked against the Spanish
// dictionary the app ships), accessible (axe WCAG 2.2 AA) and readable at 200 % text.
// Then her own choice: she picks English for herself, which is saved to her account;
// locked, the device speaks Spanish again, and her own tap brings back her English.

import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { expectAccessible, expectReadableAt200Percent } from "../lib/axe.ts";
import { type App, launchApp } from "../lib/app.ts";
import { enroll, enterPin, lockVirtualReader, tapBadge, waitForHash, waitForReader } from "../lib/badge.ts";
import { CentralApi, fakeMachine } from "../lib/central.ts";
import { repoRoot } from "../lib/paths.ts";

/** sunrise-north.rn1's demo badge and PIN (tend-api `DEMO_BADGES`). */
const NURSE = { username: "sunrise-north.rn1", badge: "04D3A1B2C3D401", pin: "4826" };
const NOTE = "Comió bien y caminó por el jardín con su hija.";

/** A text from the app's own dictionaries: `words("es", "lock.title")`. */
function words(language: "en" | "es", key: string, values: Record<string, string | number> = {}): string {
  const [namespace, ...path] = key.split(".");
  const file = join(repoRoot, "ui", "src", "lib", "i18n", "locales", language, `${namespace}.json`);
  let node: unknown = JSON.parse(readFileSync(file, "utf8"));
  for (const part of path) node = (node as Record<string, unknown>)[part];
  assert.equal(typeof node, "string", `no text ${language}:${key}`);
  return (node as string).replace(/\{\{(\w+)\}\}/g, (_, name: string) => String(values[name] ?? `{{${name}}}`));
}

async function htmlLang(app: App): Promise<string> {
  return app.browser.execute(() => document.documentElement.lang);
}

async function waitForLang(app: App, lang: string, what: string): Promise<void> {
  await app.browser.waitUntil(async () => (await htmlLang(app)) === lang, { timeout: 10_000, timeoutMsg: `${what}: <html lang> never became ${lang}` });
}

async function heading(app: App): Promise<string> {
  return app.browser.$("#screen-title").getText();
}

describe("a nurse's day in Spanish", () => {
  const api = new CentralApi("spanish-staff", "sunrise-north.facilityadmin1");
  const cleanups: Array<() => unknown> = [];
  let app: App;
  let nurse: { id: number; full_name: string };
  let resident: { id: number; name: string };

  before(
    async () => {
      await api.start();
      const users: Array<{ id: number; username: string; full_name: string }> = (
        await api.request("GET", `/api/users?facility_id=${api.facilityId}&limit=100`)
      ).items;
      const found = users.find((u) => u.username === NURSE.username);
      assert.ok(found, `the demo facility has no ${NURSE.username}`);
      nurse = found;
      const reader = await lockVirtualReader();
      cleanups.push(() => new Promise<void>((r) => reader.close(() => r())));
      const machine = fakeMachine();
      cleanups.push(() => rmSync(machine, { recursive: true, force: true }));
      app = await launchApp({ name: "spanish-staff", profile: "desktop", env: { TEND_DEBUG_IDENTITY_ROOT: machine } });
      cleanups.push(() => app.close());
      await enroll(app, api);
      await waitForReader(app, "connected");
      await app.waitForText("status-last-sync", /Synced/, 60_000);
    },
    { timeout: 180_000 },
  );
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await api.stop();
  });

  test("the device is switched to Spanish on its lock screen", async () => {
    assert.equal(await htmlLang(app), "en-US");
    assert.equal(await heading(app), words("en", "lock.title"));
    const toggle = app.testId("device-language-toggle");
    await toggle.click();
    await waitForLang(app, "es-US", "the lock screen's language choice");
    assert.equal(await heading(app), words("es", "lock.title"));
    await app.waitForText("reader-status", words("es", "lock.reader.connected"));
    await app.waitForText("status-last-sync", /Sincronizad/);
    await expectAccessible(app, "the lock screen in Spanish");
    await expectReadableAt200Percent(app, "the lock screen in Spanish");
    await app.screenshot("1-lock-es");
  });

  test("badge, then the PIN pad in Spanish, then her home in Spanish", async () => {
    await tapBadge(NURSE.badge);
    await app.waitFor("pin-pad");
    await app.waitForText("pin-pad", words("es", "lock.pin.title"));
    await expectAccessible(app, "the PIN pad in Spanish");
    await expectReadableAt200Percent(app, "the PIN pad in Spanish");
    await app.screenshot("2-pin-es");
    await enterPin(app, NURSE.pin);
    await waitForHash(app, "#/home", "the nurse did not reach her home screen");
    await app.waitForText("home-signed-in", nurse.full_name);
    // Her home greets her in Spanish, with the date in Spanish, at the facility.
    assert.match(await heading(app), /^(Buenos días|Buenas tardes|Buenas noches)/);
    const lead = await app.browser.$(".lead").getText();
    assert.match(lead, /(lunes|martes|miércoles|jueves|viernes|sábado|domingo), \d{1,2} de \w+/);
    assert.equal(await app.testId("home-lock").getText(), words("es", "common.actions.lock"));
    await expectAccessible(app, "the nurse home in Spanish");
    await expectReadableAt200Percent(app, "the nurse home in Spanish");
    await app.screenshot("3-home-es");
  });

  test("she opens a resident and writes a care note, in Spanish", async () => {
    await app.testId("nav-patients").click();
    await waitForHash(app, "#/patients", "Residents did not open");
    const row = await app.waitFor("patient-row");
    await expectAccessible(app, "the residents list in Spanish");
    await expectReadableAt200Percent(app, "the residents list in Spanish");
    const id = Number(await row.getAttribute("data-patient-id"));
    await row.click();
    await waitForHash(app, `#/patients/${id}`, "the resident did not open");
    await app.waitFor("demographics");
    resident = { id, name: await heading(app) };

    await app.testId("kind-care_note").click();
    const form = await app.waitFor("form-care_note");
    const forId = await form.$(`.//label[normalize-space()="${words("es", "nurse.form.note")}"]`).getAttribute("for");
    assert.ok(forId, "the note's field is not labelled in Spanish");
    await form.$(`[id="${forId}"]`).setValue(NOTE);
    const save = form.$('[data-testid="record-save"]');
    assert.equal(await save.getText(), words("es", "nurse.form.submit.care_note"));
    await save.click();
    await app.waitForText("record-saved", words("es", "nurse.patient.recordSaved.care_note"));
    const entry = app.browser.$('[data-testid="timeline-entry"]');
    await entry.waitForDisplayed();
    assert.match(await entry.getText(), new RegExp(NOTE));
    await expectAccessible(app, "the resident view in Spanish with a new note");
    await expectReadableAt200Percent(app, "the resident view in Spanish with a new note");
    await app.screenshot("4-resident-note-es");

    // The note reaches the server as she wrote it.
    await app.browser.waitUntil(
      async () => {
        const records: Array<{ body: { kind: string; text?: string } }> = (
          await api.request("GET", `/api/patients/${resident.id}/records?limit=50`)
        ).items;
        return records.some((r) => r.body.kind === "care_note" && r.body.text === NOTE);
      },
      { timeout: 60_000, interval: 1_000, timeoutMsg: "the Spanish note never reached the server" },
    );
  });

  test("her own language wins while she is signed in, and is kept with her account", async () => {
    await app.testId("nav-home").click();
    await waitForHash(app, "#/home", "Home did not open");
    await app.testId("my-language-en").click();
    await waitForLang(app, "en-US", "her own choice");
    assert.equal(await app.testId("home-lock").getText(), words("en", "common.actions.lock"));
    const saved = await api.request("GET", `/api/users/${nurse.id}`);
    assert.equal(saved.preferred_language, "en", "her choice was not saved to her account");
    await app.screenshot("5-home-her-english");

    // Locked, the device's Spanish is back; her own tap brings back her English.
    await app.testId("home-lock").click();
    await waitForHash(app, "#/lock", "the Lock button did not lock");
    await waitForLang(app, "es-US", "the locked device");
    assert.equal(await heading(app), words("es", "lock.lockedTitle"));
    await tapBadge(NURSE.badge);
    await app.browser.waitUntil(async () => (await app.browser.execute(() => window.location.hash)) !== "#/lock", {
      timeout: 20_000,
      timeoutMsg: "her tap did not unlock her session",
    });
    await waitForLang(app, "en-US", "her session after unlocking");
  });
});
