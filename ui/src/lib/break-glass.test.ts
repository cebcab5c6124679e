import { afterEach, describe, expect, it } from "vitest";
import { setDeviceLanguage, setTimeZone } from "./i18n/index.svelte";
import { BREAK_GLASS, bannerText, formatCountdown, reasonProblem, secondsLeft } from "./break-glass";

describe("break-glass rules", () => {
  it("takes the reason's limits from Rust", () => {
    expect(BREAK_GLASS.reason_min).toBe(10);
    expect(BREAK_GLASS.reason_max).toBe(500);
    expect(BREAK_GLASS.default_minutes).toBe(60);
    expect(reasonProblem("urgent")).toMatch(/10 to 500/);
    expect(reasonProblem("   fell in the hallway   ")).toBeUndefined();
    expect(reasonProblem("x".repeat(501))).toBeDefined();
  });

  it("counts down to the end and never below zero", () => {
    const now = new Date("2026-12-05T10:00:00Z");
    expect(secondsLeft("2026-12-05T10:59:30Z", now)).toBe(3570);
    expect(secondsLeft("2026-12-05T09:00:00Z", now)).toBe(0);
    expect(secondsLeft("not a time", now)).toBe(0);
    expect(formatCountdown(3570)).toBe("59:30");
    expect(formatCountdown(3725)).toBe("1:02:05");
    expect(formatCountdown(0)).toBe("0:00");
  });

  it("says when access ends and that it is audited", () => {
    expect(bannerText("2026-12-05T10:59:30Z")).toMatch(/^Emergency access — ends at \d\d:\d\d, audited$/);
  });
});

describe("break-glass in Spanish", () => {
  afterEach(() => {
    setDeviceLanguage("en");
    setTimeZone(null);
  });

  it("words the reason's rule and the banner, with the end time at the facility", () => {
    setDeviceLanguage("es");
    setTimeZone("America/Chicago");
    expect(reasonProblem("urgente")).toBe("Explique por qué necesita acceso, en 10 a 500 caracteres");
    expect(bannerText("2026-12-05T10:59:30Z")).toBe("Acceso de emergencia — termina a las 04:59, auditado");
  });
});
