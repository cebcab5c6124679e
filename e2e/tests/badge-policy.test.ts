// The lock screen's rules in the real window, against the real central API and the PC/SC
// test reader (pcscd + vsmartcard-vpcd, the card played by tend-badge's virtual-badge):
// tap-out, a colleague's tap on a locked screen, sign out, a revoked badge, five wrong
// PINs, the reader unplugged, restored and its service restarted, and a keyboard-wedge
// reader's burst told from a person typing (synthetic key events through WebDriver). One
// device and one app launch serve the journeys, in order; each leaves the screen as the
// next expects.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type App, launchApp } from "../lib/app.ts";
import {
  enroll,
  enterPin,
  lockVirtualReader,
  restartPcscd,
  tapBadge,
  waitForHash,
  waitForPhase,
  waitForReader,
} from "../lib/badge.ts";
import { CentralApi, fakeMachine } from "../lib/central.ts";
import { Key } from "webdriverio";

/** Same-badge taps closer than this count once (the app's default is 3 s). */
const DEBOUNCE_MS = 800;
/** This device's keyboard-wedge reader types the NFC UID in hex after a "%" (tend.toml). */
const WEDGE_PREFIX = "%";
const WEDGE_CONFIG = `[wedge]\nencoding = "uid_hex"\nprefix = "${WEDGE_PREFIX}"\n`;
/** People leave at least this long between keys; the wedge default allows 80 ms at most. */
const HUMAN_KEY_GAP_MS = 160;

interface Staff {
  id: number;
  full_name: string;
  badge: string;
  pin: string;
}

/** The screen's heading. */
async function waitForTitle(app: App, expected: string): Promise<void> {
  await app.browser.waitUntil(async () => (await app.browser.$("#screen-title").getText()) === expected, {
    timeout: 10_000,
    timeoutMsg: `the screen's title never became ${expected}`,
  });
}

/**
 * Types `text` then Enter as one WebDriver key sequence: with no pauses, as a wedge
 * reader does, or with `gapMs` between keys, as a person does.
 */
async function typeKeys(app: App, text: string, gapMs = 0): Promise<void> {
  const keys = app.browser.action("key");
  for (const key of [...text, Key.Enter]) {
    keys.down(key).up(key);
    if (gapMs > 0) keys.pause(gapMs);
  }
  await keys.perform();
}

/** The app's log lines that record a login's outcome. */
function loginOutcomes(app: App): string[] {
  return app
    .log()
    .split("\n")
    .filter((line) => /tend_core::login(::\w+)*: (signed in|login refused|session unlocked)/.test(line));
}

async function pastDebounce(): Promise<void> {
  await new Promise((r) => setTimeout(r, DEBOUNCE_MS + 200));
}

describe("badge policy", () => {
  const api = new CentralApi("badge-policy");
  const cleanups: Array<() => unknown> = [];
  let app: App;
  // Four of the demo facility's staff, each with a badge and a PIN of their own.
  let nurse: Staff;
  let colleague: Staff;
  let revoked: Staff;
  let forgetful: Staff;
  let facilityName: string;

  before(
    async () => {
      await api.start();
      facilityName = (await api.request("GET", `/api/facilities/${api.facilityId}`)).name;
      const users: Array<{ id: number; full_name: string; role: string }> = (
        await api.request("GET", `/api/users?facility_id=${api.facilityId}&limit=100`)
      ).items;
      const pick = (role: string, nth: number, badge: string, pin: string): Staff => {
        const user = users.filter((u) => u.role === role)[nth];
        assert.ok(user, `the demo facility has no ${role} #${nth + 1}`);
        return { id: user.id, full_name: user.full_name, badge, pin };
      };
      nurse = pick("RN", 0, "04A1B2C3D4E5F6", "73946281");
      colleague = pick("RN", 1, "04B2C3D4E5F607", "5820");
      revoked = pick("CNA", 0, "04C3D4E5F60718", "918273");
      forgetful = pick("CNA", 1, "04D4E5F6071829", "246813");
      for (const staff of [nurse, colleague, revoked, forgetful]) {
        await api.request("POST", `/api/users/${staff.id}/badges`, { badge_uid: staff.badge });
        await api.request("PUT", `/api/users/${staff.id}/pin`, { pin: staff.pin });
      }

      const reader = await lockVirtualReader();
      cleanups.push(() => new Promise<void>((r) => reader.close(() => r())));
      const machine = fakeMachine();
      cleanups.push(() => rmSync(machine, { recursive: true, force: true }));
      const configDir = mkdtempSync(join(tmpdir(), "tend-e2e-config-"));
      cleanups.push(() => rmSync(configDir, { recursive: true, force: true }));
      writeFileSync(join(configDir, "tend.toml"), WEDGE_CONFIG);
      app = await launchApp({
        name: "badge-policy",
        profile: "desktop",
        env: {
          TEND_DEBUG_IDENTITY_ROOT: machine,
          TEND_BADGE_DEBOUNCE_MS: String(DEBOUNCE_MS),
          TEND_CONFIG: join(configDir, "tend.toml"),
        },
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

  test("tap-out: the signed-in nurse's second tap locks her session; her next tap unlocks it", async () => {
    // The lock screen says where this device is enrolled.
    await app.waitForText("facility-name", facilityName);
    await app.screenshot("0-lock-screen");
    await tapBadge(nurse.badge);
    await enterPin(app, nurse.pin);
    await waitForHash(app, "#/home", "the nurse did not reach her home screen");
    await app.waitForText("home-signed-in", nurse.full_name);

    await pastDebounce();
    await tapBadge(nurse.badge);
    await waitForHash(app, "#/lock", "her second tap did not lock the session");
    await waitForPhase(app, "locked");
    await waitForTitle(app, "Locked");
    await app.screenshot("1-tapped-out");

    await pastDebounce();
    await tapBadge(nurse.badge);
    await waitForHash(app, "#/home", "her tap did not unlock the session");
    await app.waitForText("home-signed-in", nurse.full_name);
  });

  test("a colleague's tap on a locked screen signs the nurse out and the colleague in", async () => {
    await app.testId("home-lock").click();
    await waitForPhase(app, "locked");
    assert.match(await app.browser.$("main").getText(), new RegExp(`${nurse.full_name}'s session is locked`));

    await tapBadge(colleague.badge);
    await enterPin(app, colleague.pin);
    await waitForHash(app, "#/home", "the colleague did not reach her home screen");
    const signedIn = await app.waitForText("home-signed-in", colleague.full_name);
    assert.doesNotMatch(signedIn, new RegExp(nurse.full_name));
    assert.equal(await app.testId("home-signed-in").getAttribute("data-user-id"), String(colleague.id));
    await app.screenshot("2-colleague-home");
  });

  test("signing out discards the session and returns to the lock screen", async () => {
    await app.testId("home-logout").click();
    await waitForHash(app, "#/lock", "signing out did not return to the lock screen");
    await waitForPhase(app, "signed_out");
    await waitForTitle(app, "Tap your badge");
    assert.doesNotMatch(await app.browser.$("main").getText(), new RegExp(colleague.full_name));
    await app.screenshot("3-signed-out");
  });

  test("a revoked badge is refused in words and nobody is signed in", async () => {
    const badges = await api.request("GET", `/api/users/${revoked.id}/badges`);
    assert.equal(badges.items.length, 1);
    await api.request("POST", `/api/users/${revoked.id}/badges/${badges.items[0].id}/revoke`);

    await tapBadge(revoked.badge);
    await app.waitForText("login-error", /has been cancelled/);
    assert.equal(await app.testId("login-error").getAttribute("data-code"), "BADGE_REVOKED");
    await waitForPhase(app, "signed_out");
    assert.equal(await app.testId("pin-pad").isExisting(), false);
    await app.screenshot("4-revoked");
  });

  test("five wrong PINs: the attempts left each time, then the badge is locked", async () => {
    await tapBadge(forgetful.badge);
    await app.waitFor("pin-pad");
    const wrong = forgetful.pin === "0000" ? "1111" : "0000";
    for (const left of [4, 3, 2, 1]) {
      await enterPin(app, wrong);
      await app.waitForText("pin-attempts", left === 1 ? "1 attempt left" : `${left} attempts left`);
      assert.equal(await app.testId("login-error").getAttribute("data-code"), "BADGE_PIN_WRONG");
      await app.waitForText(
        "login-error",
        left === 1 ? "One more wrong PIN locks this badge" : `${left} attempts left before this badge locks`,
      );
    }
    await app.screenshot("5-last-attempt");
    await enterPin(app, wrong);
    await app.waitForText("login-error", /locked for 15 minutes/);
    assert.equal(await app.testId("login-error").getAttribute("data-code"), "BADGE_LOCKED");
    await waitForPhase(app, "signed_out");
    await app.screenshot("6-badge-locked");

    // The lock holds: her next tap is refused before any PIN is asked for.
    await pastDebounce();
    await tapBadge(forgetful.badge);
    await app.waitForText("login-error", /locked for 15 minutes/);
    await waitForPhase(app, "signed_out");
    assert.equal(await app.testId("pin-pad").isExisting(), false);
    // Nothing about the badges or PINs reached the app's log (whole words: a PIN's
    // digits may well occur inside a timestamp).
    const secrets = [nurse, colleague, revoked, forgetful].flatMap((s) => [s.badge, s.pin]);
    assert.doesNotMatch(app.log(), new RegExp(`\\b(${secrets.join("|")})\\b`, "i"));
  });

  test("the reader unplugged and restored, and pcscd restarted: the status follows and taps work again", async (t) => {
    let unplugged = false;
    t.after(async () => {
      if (unplugged) await restartPcscd();
    });

    // Every reader gone (pcscd back without its virtual readers).
    unplugged = true;
    await restartPcscd({ noReaders: true });
    await waitForReader(app, "no_reader");
    await app.waitForText("reader-status", "No badge reader connected");
    await app.screenshot("7-no-reader");

    await restartPcscd();
    unplugged = false;
    await waitForReader(app, "connected");
    await app.waitForText("reader-status", "Badge reader connected");

    // A restart of the service with the readers in place: the status leaves
    // "connected" (it may be brief, so the page records every change) and returns.
    await app.browser.execute(() => {
      const status = document.querySelector('[data-testid="reader-status"]')!;
      const seen: string[] = [];
      (window as unknown as { readerStatusSeen: string[] }).readerStatusSeen = seen;
      new MutationObserver(() => seen.push(status.getAttribute("data-status") ?? "")).observe(status, {
        attributes: true,
        attributeFilter: ["data-status"],
      });
    });
    await restartPcscd();
    await app.browser.waitUntil(
      async () => {
        const seen = await app.browser.execute(() => (window as unknown as { readerStatusSeen: string[] }).readerStatusSeen);
        return seen.some((s) => s !== "connected") && seen[seen.length - 1] === "connected";
      },
      { timeout: 15_000, interval: 100, timeoutMsg: "the reader status did not go away and come back over a pcscd restart" },
    );
    await app.screenshot("8-reader-back");

    // A tap after the recovery signs the nurse in (within her PIN grace period: no PIN).
    await tapBadge(nurse.badge);
    await waitForHash(app, "#/home", "a tap after the reader came back did not sign the nurse in");
    await app.waitForText("home-signed-in", nurse.full_name);
  });

  test("keyboard wedge: a reader's burst signs in; the same keys typed by a person do not", async () => {
    await app.testId("home-logout").click();
    await waitForHash(app, "#/lock", "signing out did not return to the lock screen");
    await waitForPhase(app, "signed_out");
    const outcomesBefore = loginOutcomes(app).length;

    // A person types the nurse's badge number, prefix and Enter included: nothing happens.
    await typeKeys(app, `${WEDGE_PREFIX}${nurse.badge}`, HUMAN_KEY_GAP_MS);
    // Then a reader types an unknown badge: refused in words. Keys are handled in order,
    // so had the person's typing counted, its outcome would be logged first.
    await typeKeys(app, `${WEDGE_PREFIX}04C0FFEE`);
    await app.waitForText("login-error", /isn't assigned to anyone/);
    assert.equal(await app.testId("login-error").getAttribute("data-code"), "BADGE_UNKNOWN");
    await waitForPhase(app, "signed_out");
    const outcomes = loginOutcomes(app).slice(outcomesBefore);
    assert.equal(outcomes.length, 1, `expected only the unknown badge's refusal, got ${outcomes.join(" | ")}`);
    assert.match(outcomes[0]!, /login refused code=BADGE_UNKNOWN/);
    assert.equal(await app.testId("password-form").isExisting(), false);
    await app.screenshot("9-wedge-unknown");

    // The reader types the nurse's badge: her home (no PIN within her grace period).
    await typeKeys(app, `${WEDGE_PREFIX}${nurse.badge}`);
    await waitForHash(app, "#/home", "the wedge reader's burst did not sign the nurse in");
    await app.waitForText("home-signed-in", nurse.full_name);
    await app.screenshot("10-wedge-home");
    const secrets = [nurse.badge, "04C0FFEE"];
    assert.doesNotMatch(app.log(), new RegExp(`\\b(${secrets.join("|")})\\b`, "i"));
  });
});
