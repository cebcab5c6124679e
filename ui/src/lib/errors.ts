// Turns the `{code, message}` errors that cross IPC into words a nurse can act on.
// The UI branches on `code` only; `message` is shown, never parsed.

import { DOMAIN_RULES, type AppError, type ErrorCode } from "./bindings";
import { currentLanguage, t } from "./i18n/index.svelte";
import englishErrors from "./i18n/locales/en/errors.json";

interface ErrorCopy {
  /**
   * True when the backend's message is written for people and more specific than the
   * code's own words (e.g. "HTTPS is required for remote servers"), so it is shown instead.
   * Backend messages are English: in another language the code's translated words are shown.
   */
  readonly preferMessage: boolean;
  /** Whether trying the same thing again later can succeed. */
  readonly retryable: boolean;
}

// Exhaustive on purpose: when the generated ErrorCode enum gains a code, `npm run check`
// fails here, and below (errors.json's `codes`), until someone decides what people should
// read for it. The words themselves are `errors.codes.<CODE>` in locales/<lang>/errors.json.
const COPY: Record<ErrorCode, ErrorCopy> = {
  VALIDATION_FAILED: { preferMessage: true, retryable: false },
  MALFORMED_REQUEST: { preferMessage: false, retryable: false },
  PAYLOAD_TOO_LARGE: { preferMessage: false, retryable: false },
  NOT_FOUND: { preferMessage: false, retryable: false },
  CONFLICT: { preferMessage: true, retryable: false },
  UNAUTHORIZED: { preferMessage: false, retryable: false },
  NOT_SIGNED_IN: { preferMessage: false, retryable: false },
  FORBIDDEN: { preferMessage: false, retryable: false },
  RATE_LIMITED: { preferMessage: false, retryable: true },
  ENROLLMENT_CODE_INVALID: { preferMessage: false, retryable: false },
  ENROLLMENT_CODE_EXPIRED: { preferMessage: false, retryable: false },
  ENROLLMENT_CODE_REVOKED: { preferMessage: false, retryable: false },
  ENROLLMENT_CODE_EXHAUSTED: { preferMessage: false, retryable: false },
  ENROLLMENT_CODE_REQUIRED: { preferMessage: false, retryable: false },
  DEVICE_CLONE_CONFLICT: { preferMessage: false, retryable: false },
  DEVICE_UNKNOWN: { preferMessage: false, retryable: false },
  DEVICE_PENDING: { preferMessage: false, retryable: true },
  DEVICE_REJECTED: { preferMessage: false, retryable: false },
  DEVICE_DEACTIVATED: { preferMessage: false, retryable: false },
  FACILITY_CLOSED: { preferMessage: false, retryable: true },
  ORGANIZATION_CLOSED: { preferMessage: false, retryable: true },
  BADGE_UNKNOWN: { preferMessage: false, retryable: false },
  BADGE_REVOKED: { preferMessage: false, retryable: false },
  BADGE_PIN_REQUIRED: { preferMessage: true, retryable: false },
  BADGE_PIN_NOT_SET: { preferMessage: false, retryable: false },
  BADGE_PIN_WRONG: { preferMessage: true, retryable: false },
  BADGE_LOCKED: { preferMessage: false, retryable: true },
  BADGE_DEVICE_NOT_ALLOWED: { preferMessage: false, retryable: false },
  VISITOR_CODE_INVALID: { preferMessage: false, retryable: false },
  FORGED_AUTHOR: { preferMessage: false, retryable: false },
  UNSUPPORTED_VERSION: { preferMessage: false, retryable: false },
  OFFLINE: { preferMessage: false, retryable: true },
  CONFIG_INVALID: { preferMessage: true, retryable: false },
  STORAGE_UNAVAILABLE: { preferMessage: false, retryable: true },
  UNAVAILABLE: { preferMessage: false, retryable: true },
  INTERNAL: { preferMessage: false, retryable: true },
};

// Every code has English words (and the parity test gives it Spanish ones).
englishErrors.codes satisfies Record<ErrorCode, string>;

/** Every code the UI knows, in the order of the contract. */
export const ERROR_CODES = Object.keys(COPY) as readonly ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.prototype.hasOwnProperty.call(COPY, value);
}

/** The code's own words in the language shown now. */
export function codeText(code: ErrorCode): string {
  return t(`errors.codes.${code}`, { minutes: DOMAIN_RULES.pin.lockout_minutes });
}

/**
 * A message for people, chosen by `code`, in the language shown now; falls back to the
 * backend's message for codes this build doesn't know. Backend messages are English, so
 * they are shown only when English is.
 */
export function errorMessage(error: AppError): string {
  const message = typeof error.message === "string" ? error.message.trim() : "";
  const english = currentLanguage() === "en";
  if (!isErrorCode(error.code)) return (english && message) || t("errors.fallback");
  const copy = COPY[error.code];
  return copy.preferMessage && message && english ? message : codeText(error.code);
}

/** Whether offering "Try again" makes sense for this error. */
export function isRetryable(error: AppError): boolean {
  return isErrorCode(error.code) ? COPY[error.code].retryable : true;
}

/**
 * Coerces anything a command can throw into an AppError. The generated bindings return
 * backend errors as values but rethrow JavaScript `Error`s, e.g. when the page runs in a
 * plain browser with no Tauri backend behind it.
 */
export function toAppError(thrown: unknown): AppError {
  if (typeof thrown === "object" && thrown !== null && "code" in thrown) {
    const { code, message, fields } = thrown as { code: unknown; message?: unknown; fields?: unknown };
    if (typeof code === "string") {
      const error: AppError = { code: code as ErrorCode, message: typeof message === "string" ? message : "" };
      const kept = fieldMessages(fields);
      if (kept) error.fields = kept;
      return error;
    }
  }
  if (thrown instanceof Error) {
    return { code: "UNAVAILABLE", message: thrown.message };
  }
  return { code: "INTERNAL", message: typeof thrown === "string" ? thrown : "" };
}

/** Per-field messages of a form error, keeping only well-formed entries. */
function fieldMessages(fields: unknown): Record<string, string[]> | undefined {
  if (typeof fields !== "object" || fields === null) return undefined;
  const kept: Record<string, string[]> = {};
  for (const [name, messages] of Object.entries(fields)) {
    if (Array.isArray(messages)) kept[name] = messages.filter((m): m is string => typeof m === "string");
  }
  return Object.keys(kept).length > 0 ? kept : undefined;
}

/**
 * The first message the backend gave for `field`, if any. Rust words its field messages
 * in English only; in another language the field is still marked, with a sentence in that
 * language instead of a mixed-language screen (the forms' own checks, which run first,
 * say what exactly is wrong in the language shown).
 */
export function fieldError(error: AppError | null, field: string): string | undefined {
  const message = error?.fields?.[field]?.[0];
  if (message === undefined) return undefined;
  return currentLanguage() === "en" ? message : t("errors.fieldInvalid");
}
