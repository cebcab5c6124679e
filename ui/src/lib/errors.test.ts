import { afterEach, describe, expect, it } from "vitest";
import type { AppError } from "./bindings";
import { ERROR_CODES, errorMessage, fieldError, isErrorCode, isRetryable, toAppError } from "./errors";
import { setDeviceLanguage } from "./i18n/index.svelte";

describe("errorMessage", () => {
  it("has readable copy for every code in the contract", () => {
    expect(ERROR_CODES).toHaveLength(36);
    for (const code of ERROR_CODES) {
      const text = errorMessage({ code, message: "" });
      expect(text.length, code).toBeGreaterThan(20);
      expect(text, code).not.toContain("_");
    }
  });

  it("shows the backend's message for validation errors, where it is the useful part", () => {
    const error: AppError = { code: "VALIDATION_FAILED", message: "HTTPS is required for remote servers." };
    expect(errorMessage(error)).toBe("HTTPS is required for remote servers.");
  });

  it("falls back to the code's copy when a validation error has no message", () => {
    expect(errorMessage({ code: "VALIDATION_FAILED", message: "  " })).toMatch(/isn't valid/);
  });

  it("hides internal detail behind the code's copy", () => {
    const error: AppError = { code: "INTERNAL", message: "sqlite: disk I/O error at page 42" };
    expect(errorMessage(error)).not.toContain("sqlite");
    expect(errorMessage(error)).toMatch(/went wrong/);
  });

  it("branches on code, not message text", () => {
    const message = "network unreachable";
    expect(errorMessage({ code: "OFFLINE", message })).toMatch(/offline/i);
    expect(errorMessage({ code: "FORBIDDEN", message })).toMatch(/permission/);
  });

  it("falls back to the message for a code this build doesn't know", () => {
    const error = { code: "SOME_FUTURE_CODE", message: "A newer server explains this." } as unknown as AppError;
    expect(errorMessage(error)).toBe("A newer server explains this.");
    expect(errorMessage({ ...error, message: "" })).toMatch(/went wrong/);
  });
});

describe("errorMessage in Spanish", () => {
  afterEach(() => setDeviceLanguage("en"));

  it("has Spanish words for every code, different from the English ones", () => {
    for (const code of ERROR_CODES) {
      const english = errorMessage({ code, message: "" });
      setDeviceLanguage("es");
      const spanish = errorMessage({ code, message: "" });
      setDeviceLanguage("en");
      expect(spanish.length, code).toBeGreaterThan(20);
      expect(spanish, code).not.toContain("errors.codes");
      expect(spanish, code).not.toBe(english);
    }
  });

  it("shows the code's Spanish words instead of the backend's English message", () => {
    const error: AppError = { code: "VALIDATION_FAILED", message: "HTTPS is required for remote servers." };
    setDeviceLanguage("es");
    expect(errorMessage(error)).toBe("Parte de la información ingresada no es válida. Revísela e intente de nuevo.");
    expect(errorMessage({ code: "BADGE_PIN_WRONG", message: "Wrong PIN: 2 tries left." })).toBe("Ese PIN no es correcto. Revíselo e intente de nuevo.");
  });

  it("translates at call time, and fills the lockout minutes", () => {
    const error: AppError = { code: "BADGE_LOCKED", message: "" };
    expect(errorMessage(error)).toMatch(/^This badge is locked for \d+ minutes/);
    setDeviceLanguage("es");
    expect(errorMessage(error)).toMatch(/^Esta credencial está bloqueada por \d+ minutos/);
  });

  it("does not show an unknown code's English message in Spanish", () => {
    const error = { code: "SOME_FUTURE_CODE", message: "A newer server explains this." } as unknown as AppError;
    setDeviceLanguage("es");
    expect(errorMessage(error)).toMatch(/^Algo salió mal/);
  });
});

describe("isRetryable", () => {
  it("offers retry for transient failures only", () => {
    expect(isRetryable({ code: "OFFLINE", message: "" })).toBe(true);
    expect(isRetryable({ code: "UNAVAILABLE", message: "" })).toBe(true);
    expect(isRetryable({ code: "VALIDATION_FAILED", message: "" })).toBe(false);
    expect(isRetryable({ code: "FORBIDDEN", message: "" })).toBe(false);
  });
});

describe("toAppError", () => {
  it("keeps per-field messages and drops malformed ones", () => {
    const error = toAppError({ code: "VALIDATION_FAILED", message: "bad", fields: { device_uuid: ["not a UUID", 3], junk: "x" } });
    expect(error.fields).toEqual({ device_uuid: ["not a UUID"] });
    expect(fieldError(error, "device_uuid")).toBe("not a UUID");
    expect(fieldError(error, "mac_address")).toBeUndefined();
    expect(toAppError({ code: "CONFLICT", message: "x", fields: {} })).not.toHaveProperty("fields");
  });

  it("marks a field in Spanish with Spanish words, not Rust's English", () => {
    const error = toAppError({ code: "VALIDATION_FAILED", message: "bad", fields: { room: ["at most 20 characters"] } });
    setDeviceLanguage("es");
    try {
      expect(fieldError(error, "room")).toBe("Este dato no es válido. Revíselo e inténtelo de nuevo.");
      expect(fieldError(error, "mrn")).toBeUndefined();
    } finally {
      setDeviceLanguage("en");
    }
    expect(fieldError(error, "room")).toBe("at most 20 characters");
  });

  it("keeps an AppError as it is", () => {
    expect(toAppError({ code: "CONFLICT", message: "taken" })).toEqual({ code: "CONFLICT", message: "taken" });
  });

  it("turns a JavaScript Error (no backend) into UNAVAILABLE", () => {
    expect(toAppError(new TypeError("window.__TAURI_INTERNALS__ is undefined"))).toEqual({
      code: "UNAVAILABLE",
      message: "window.__TAURI_INTERNALS__ is undefined",
    });
  });

  it("turns anything else into INTERNAL", () => {
    expect(toAppError("boom")).toEqual({ code: "INTERNAL", message: "boom" });
    expect(toAppError(undefined)).toEqual({ code: "INTERNAL", message: "" });
  });

  it("recognizes the codes of the contract", () => {
    expect(isErrorCode("RATE_LIMITED")).toBe(true);
    expect(isErrorCode("rate_limited")).toBe(false);
    expect(isErrorCode("toString")).toBe(false);
  });
});
