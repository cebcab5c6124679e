// Nothing clinical on a screen that is not completely signed in, in the real window against
// the real central API and the PC/SC test reader: the demo nurse taps her badge (her first
// badge login, so the facility's policy asks for her PIN) and does not enter the PIN. Every
// destination the top bar offers, and the residents' own addresses typed into the location
// (home, the list, one resident), show no resident's name, MRN or date of birth anywhere in
// the page. Then she enters her PIN and the residents appear.
//
// What a person sees is the test: until the Rust commands refuse resident data themselves
// (NOT_SIGNED_IN), the UI's top bar and router are what keep it off the screen.

import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { type App, launchApp } from "../lib/app.ts";
import { enroll, enterPin, hash, lockVirtualReader, tapBadge, waitForHash, waitForPhase, waitForReader } from "../lib/badge.ts";
import { CentralApi, fakeMachine } from "../lib/central.ts";

/** sunrise-north.rn1's demo badge and PIN (tend-api `DEMO_BADGES`). */
const NURSE = { badge: "04D3A1B2C3D401", pin: "4826" };

interface Resident {
  id: number;
  mrn: string;
  first_name: string;
  last_name: string;
  date_of_birth: string;
}

/** The seeded residents as a person would find them on a screen: names, MRNs, dates of birth. */
function residentMarks(residents: Resident[]): string[] {
  return residents.flatMap((r) => {
    const [year, month, day] = r.date_of_birth.split("-").map(Number) as [number, number, number];
    const born = new Date(Date.UTC(year, month - 1, day));
    const long = born.toLocaleDateString("en-US", { timeZone: "UTC", month: "short", day: "numeric", year: "numeric" });
    const numeric = `${month}/${day}/${year}`;
    return [`${r.first_name} ${r.last_name}`, `${r.last_name}, ${r.first_name}`, r.mrn, r.date_of_birth, long, numeric];
  });
}

/** Everything the page shows as text (the whole document, not only the main area). */
async function pageText(app: App): Promise<string> {
  return app.browser.execute(() => document.body.innerText);
}

describe("nothing clinical while a PIN is pending", () => {
  const api = new CentralApi("locked-screen", "sunrise-north.facilityadmin1");
  const cleanups: Array<() => unknown> = [];
  let app: App;
  let residents: Resident[];
  let marks: string[];

  /** Fails, naming what leaked and where, if any resident's data is on screen. */
  async function assertNoResidentData(where: string): Promise<void> {
    const text = await pageText(app);
    const leaked = marks.filter((mark) => text.includes(mark));
    assert.deepEqual(leaked, [], `resident data on screen at ${where}`);
  }

  /** The top bar's destinations as the page offers them now. */
  async function topBar(): Promise<Array<{ id: string; href: string }>> {
    return app.browser.execute(() =>
      [...document.querySelectorAll<HTMLAnchorElement>('nav[aria-label="Main"] a')].map((a) => ({
        id: a.dataset.testid ?? "",
        href: a.getAttribute("href") ?? "",
      })),
    );
  }

  /** Lets a screen that was just opened ask for its data and draw it. */
  async function settle(): Promise<void> {
    await app.browser.waitUntil(async () => (await app.browser.$("#screen-title").isExisting()) || (await app.testId("clinical-refused").isExisting()), {
      timeout: 10_000,
      timeoutMsg: "no screen was drawn",
    });
    // The screens ask Rust for their data on mount; give any answer time to arrive.
    await new Promise((r) => setTimeout(r, 1_500));
  }

  before(
    async () => {
      await api.start();
      residents = (await api.request("GET", `/api/patients?facility_id=${api.facilityId}&limit=200`)).items;
      assert.ok(residents.length > 0, "the demo facility has no residents");
      marks = residentMarks(residents);

      const reader = await lockVirtualReader();
      cleanups.push(() => new Promise<void>((r) => reader.close(() => r())));
      const machine = fakeMachine();
      cleanups.push(() => rmSync(machine, { recursive: true, force: true }));
      app = await launchApp({ name: "locked-screen", profile: "desktop", env: { TEND_DEBUG_IDENTITY_ROOT: machine } });
      cleanups.push(() => app.close());
      await enroll(app, api);
      await waitForReader(app, "connected");
      // The residents are on this device (first sync), so a leak would have data to show.
      await app.waitForText("status-last-sync", /Synced/, 60_000);
    },
    { timeout: 180_000 },
  );
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await api.stop();
  });

  test("badge tapped, PIN not entered: no top-bar destination and no resident address shows resident data", async () => {
    await tapBadge(NURSE.badge);
    await app.waitFor("pin-pad");
    await waitForPhase(app, "pin_required");
    await assertNoResidentData("the PIN pad");
    await app.screenshot("1-pin-pending");

    const offered = await topBar();
    const ids = offered.map((item) => item.id);
    assert.ok(!ids.includes("nav-home") && !ids.includes("nav-patients"), `the top bar offers ${ids.join(", ")}`);
    assert.ok(ids.includes("nav-lock"), "the top bar lost its way back to sign-in");

    // Every address the window passes through is recorded: an enrolled device's setup
    // screen sends it straight back to the lock screen, so "#/setup" may last a moment.
    await app.browser.execute(() => {
      const w = window as unknown as { hashesSeen: string[] };
      w.hashesSeen = [];
      window.addEventListener("hashchange", () => w.hashesSeen.push(window.location.hash));
    });
    const visited = async (href: string): Promise<boolean> =>
      (await hash(app)) === href ||
      (await app.browser.execute(() => (window as unknown as { hashesSeen: string[] }).hashesSeen)).includes(href);
    for (const item of offered) {
      await app.browser.execute(() => ((window as unknown as { hashesSeen: string[] }).hashesSeen = []));
      // The family kiosk has no top bar; its own link leads back to staff sign-in.
      const link = app.testId(item.id);
      if (await link.isExisting()) await link.click();
      else await app.browser.execute((h: string) => (window.location.hash = h), item.href);
      await app.browser.waitUntil(() => visited(item.href), { timeout: 15_000, timeoutMsg: `${item.id} did not open ${item.href}` });
      await settle();
      await assertNoResidentData(item.href);
    }

    for (const address of ["#/home", "#/patients", `#/patients/${residents[0]!.id}`]) {
      await app.browser.execute((h: string) => (window.location.hash = h), address);
      // Refused for the lock screen, which says why and keeps the PIN pad.
      await waitForHash(app, "#/lock", `${address} was not refused`);
      await app.waitForText("sign-in-notice", /Nobody is signed in/);
      await settle();
      await assertNoResidentData(address);
      await app.waitFor("pin-pad");
    }
    await app.screenshot("2-resident-address-refused");
    assert.equal(await hash(app), "#/lock");
  });

  test("the PIN completes the sign-in: the top bar offers the residents and they appear", async () => {
    await enterPin(app, NURSE.pin);
    await waitForHash(app, "#/home", "the nurse did not reach her home screen");
    assert.equal(await app.testId("sign-in-notice").isExisting(), false);
    await app.testId("nav-patients").click();
    await waitForHash(app, "#/patients", "Residents did not open");
    await app.waitFor("patient-row");
    const text = await pageText(app);
    assert.ok(
      residents.some((r) => text.includes(`${r.first_name} ${r.last_name}`)),
      "no resident's name on the residents list after signing in",
    );
    await app.screenshot("3-residents-after-pin");
  });
});
