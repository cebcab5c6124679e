// The family portal's staff side and the kiosk, in one real window against the real
// central API and the PC/SC test reader: a resident is admitted (through the API) to the
// demo nurse's facility; the nurse signs in with her badge and PIN, opens the resident,
// issues a visitor code (shown large) and shares one activity; she signs out and the same
// device's family kiosk, with that code, shows exactly that activity and nothing else; the
// visitor leaves a message; the nurse signs in again, reads it in the resident's family
// panel and answers; the kiosk shows the answer. The panel passes axe and reads at 200 %.

import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { expectAccessible, expectReadableAt200Percent } from "../lib/axe.ts";
import { type App, launchApp } from "../lib/app.ts";
import { enroll, enterPin, lockVirtualReader, tapBadge, waitForHash, waitForReader } from "../lib/badge.ts";
import { CentralApi, fakeMachine } from "../lib/central.ts";

/** sunrise-north.rn1's demo badge and PIN (tend-api `DEMO_BADGES`). */
const NURSE = { badge: "04D3A1B2C3D401", pin: "4826" };
const ACTIVITY = "Painted a birdhouse in the craft room and gave it to her neighbour.";
const QUESTION = "Does she need warmer socks for the winter?";
const ANSWER = "Yes please, size M. She would love the blue ones.";

async function keypad(app: App, digits: string): Promise<void> {
  await app.testId("family-clear").click();
  for (const digit of digits.replace(/\D/g, "")) await app.testId(`family-key-${digit}`).click();
}

describe("family portal, staff side", () => {
  const api = new CentralApi("family-staff", "sunrise-north.facilityadmin1");
  const cleanups: Array<() => unknown> = [];
  let app: App;
  let resident: { id: number; first_name: string };
  let code = "";

  async function signIn(): Promise<void> {
    await waitForHash(app, "#/lock", "the lock screen is not showing");
    await tapBadge(NURSE.badge);
    // Within the facility's badge grace after a PIN, a tap alone signs her in.
    await app.browser.waitUntil(
      async () => (await app.testId("pin-pad").isDisplayed().catch(() => false)) || (await app.browser.execute(() => window.location.hash)) === "#/home",
      { timeout: 20_000, timeoutMsg: "the tap neither asked for the PIN nor signed in" },
    );
    if (await app.testId("pin-pad").isDisplayed().catch(() => false)) await enterPin(app, NURSE.pin);
    await waitForHash(app, "#/home", "the nurse did not reach her home screen");
  }

  async function openFamilyPanel(): Promise<void> {
    await app.goto(`patients/${resident.id}`);
    await app.waitFor("family-panel", 30_000);
    await app.waitFor("visitor-code-form", 30_000);
  }

  async function visit(): Promise<void> {
    await app.goto("family");
    await (await app.waitFor("family-visit", 20_000)).click();
    await app.waitFor("family-key-1");
    await keypad(app, code);
    await app.testId("family-submit").click();
  }

  before(
    async () => {
      await api.start();
      const facility = await api.request("GET", `/api/facilities/${api.facilityId}`);
      assert.equal(facility.features.family_portal, true, "the demo facility has the family portal off");
      // A new resident: nothing shared with their family yet.
      resident = await api.request("POST", "/api/patients", {
        facility_id: api.facilityId,
        mrn: `E2E-FAM-${Date.now()}`,
        first_name: "Maren",
        last_name: "Solberg",
        date_of_birth: "1937-04-02",
        room: "131",
      });
      const reader = await lockVirtualReader();
      cleanups.push(() => new Promise<void>((r) => reader.close(() => r())));
      const machine = fakeMachine();
      cleanups.push(() => rmSync(machine, { recursive: true, force: true }));
      app = await launchApp({ name: "family-staff", profile: "desktop", env: { TEND_DEBUG_IDENTITY_ROOT: machine } });
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

  test("the nurse issues a visitor code and shares one activity", async () => {
    await app.waitForText("status-last-sync", /Synced/, 60_000);
    await signIn();
    await openFamilyPanel();
    await expectAccessible(app, "the family panel");
    await expectReadableAt200Percent(app, "the family panel");
    await app.type("visitor-name", "Ana Hernández");
    await app.type("visitor-relationship", "daughter");
    await app.testId("visitor-code-issue").click();
    code = await app.waitForText("visitor-code", /^\d{4} \d{4}$/, 20_000);
    await app.screenshot("1-visitor-code");
    await expectAccessible(app, "the visitor code");
    await app.testId("visitor-code-done").click();

    await app.testId("family-kind-activity").click();
    await app.type("family-text", ACTIVITY);
    await app.testId("family-share").click();
    await app.waitForText("family-notice", "Shared.", 20_000);
    const shared = await api.request("GET", `/api/patients/${resident.id}/family-updates`);
    assert.deepEqual(
      shared.items.map((u: { kind: string; body: string }) => [u.kind, u.body]),
      [["activity", ACTIVITY]],
    );
  });

  test("the kiosk shows exactly that activity, and the visitor leaves a message", async () => {
    await app.goto("home");
    await (await app.waitFor("home-logout")).click();
    await waitForHash(app, "#/lock", "signing out did not return to the lock screen");
    await visit();
    await app.waitForText("family-activities", ACTIVITY, 30_000);
    // Nothing else was shared: no day summary, no message from the team.
    await app.waitFor("family-no-summary");
    await app.waitFor("family-no-messages");
    assert.equal((await app.browser.$$('[data-testid="family-activities"] li')).length, 1, "exactly one activity");
    const page = await app.browser.execute(() => document.body.innerText);
    assert.ok(!page.includes("Solberg"), "the kiosk shows the surname");
    await app.screenshot("2-kiosk");
    await app.testId("family-leave-message").click();
    await app.type("family-message-body", QUESTION);
    await app.testId("family-send").click();
    await app.waitForText("family-thanks", "Thank", 30_000);
    await app.testId("family-done").click();
    await app.waitFor("family-visit");
  });

  test("the nurse reads the message and answers; the kiosk shows the answer", async () => {
    await app.goto("lock");
    await signIn();
    await openFamilyPanel();
    await app.waitForText("family-messages", QUESTION, 20_000);
    const answerButton = app.browser.$('[data-testid^="family-answer-"]:not([data-testid="family-answer-text"])');
    await answerButton.click();
    await app.type("family-answer-text", ANSWER);
    await app.testId("family-answer-send").click();
    await app.waitForText("family-notice", "Your answer to Ana Hernández is on the kiosk.", 20_000);
    await app.screenshot("3-answered");

    await app.goto("home");
    await (await app.waitFor("home-logout")).click();
    await waitForHash(app, "#/lock", "signing out did not return to the lock screen");
    await visit();
    await app.waitForText("family-messages", ANSWER, 30_000);
    await app.waitForText("family-activities", ACTIVITY);
    await app.screenshot("4-kiosk-answer");
  });
});
