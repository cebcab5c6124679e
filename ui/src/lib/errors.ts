// Turns the `{code, message}` errors that cross IPC into words a nurse can act on.
// The UI branches on `code` only; `message` is shown, never parsed.

import { DOMAIN_RULES, type AppError, type ErrorCode } from "./bindings";

interface ErrorCopy {
  /** What a person reads when the code's own explanation is enough. */
  readonly text: string;
  /**
   * True when the backend's message is written for people and more specific than
   * `text` (e.g. "HTTPS is required for remote servers"), so it is shown instead.
   */
  readonly preferMessage: boolean;
  /** Whether trying the same thing again later can succeed. */
  readonly retryable: boolean;
}

// Exhaustive on purpose: when the generated ErrorCode enum gains a code, `npm run check`
// fails here until someone decides what people should read for it.
const COPY: Record<ErrorCode, ErrorCopy> = {
  VALIDATION_FAILED: { text: "Some of the information entered isn't valid. Check it and try again.", preferMessage: true, retryable: false },
  MALFORMED_REQUEST: { text: "The app sent a request the other side couldn't read. Restart the app; if it keeps happening, contact support.", preferMessage: false, retryable: false },
  PAYLOAD_TOO_LARGE: { text: "That is too large to send. Try a smaller file or fewer items.", preferMessage: false, retryable: false },
  NOT_FOUND: { text: "We couldn't find that. It may have been removed or moved.", preferMessage: false, retryable: false },
  CONFLICT: { text: "Someone else changed this at the same time. Reload and try again.", preferMessage: true, retryable: false },
  UNAUTHORIZED: { text: "Your sign-in has ended. Tap your badge to sign in again.", preferMessage: false, retryable: false },
  NOT_SIGNED_IN: { text: "Nobody is signed in on this device. Tap your badge (and enter your PIN) to see residents.", preferMessage: false, retryable: false },
  FORBIDDEN: { text: "You don't have permission to do that. Ask your administrator if you need access.", preferMessage: false, retryable: false },
  RATE_LIMITED: { text: "Too many attempts in a short time. Wait a minute, then try again.", preferMessage: false, retryable: true },
  ENROLLMENT_CODE_INVALID: { text: "That enrollment code doesn't exist. Check it for typos, or ask your administrator for a new one.", preferMessage: false, retryable: false },
  ENROLLMENT_CODE_EXPIRED: { text: "That enrollment code has expired. Ask your administrator for a new one.", preferMessage: false, retryable: false },
  ENROLLMENT_CODE_REVOKED: { text: "That enrollment code was cancelled by an administrator. Ask for a new one.", preferMessage: false, retryable: false },
  ENROLLMENT_CODE_EXHAUSTED: { text: "That enrollment code has already been used up. Ask your administrator for a new one.", preferMessage: false, retryable: false },
  ENROLLMENT_CODE_REQUIRED: { text: "This device needs an enrollment code from your administrator before it can be set up.", preferMessage: false, retryable: false },
  DEVICE_CLONE_CONFLICT: { text: "Another device is already registered with this hardware ID. Show this screen to your administrator.", preferMessage: false, retryable: false },
  DEVICE_UNKNOWN: { text: "The server doesn't know this device. Set it up again with an enrollment code.", preferMessage: false, retryable: false },
  DEVICE_PENDING: { text: "This device is waiting for an administrator's approval.", preferMessage: false, retryable: true },
  DEVICE_REJECTED: { text: "An administrator declined this device. Ask your administrator what to do next.", preferMessage: false, retryable: false },
  DEVICE_DEACTIVATED: { text: "This device was deactivated by an administrator, and its local data has been locked.", preferMessage: false, retryable: false },
  FACILITY_CLOSED: { text: "This facility is closed in Tend; ask an administrator. Nothing on this device was deleted.", preferMessage: false, retryable: true },
  ORGANIZATION_CLOSED: { text: "This organization is closed in Tend; ask an administrator. Nothing on this device was deleted.", preferMessage: false, retryable: true },
  BADGE_UNKNOWN: { text: "This badge isn't assigned to anyone. Use your password, or ask your administrator to assign it.", preferMessage: false, retryable: false },
  BADGE_REVOKED: { text: "This badge has been cancelled. Use your password, or ask your administrator for a new badge.", preferMessage: false, retryable: false },
  BADGE_PIN_REQUIRED: { text: "Enter your PIN to finish signing in.", preferMessage: true, retryable: false },
  BADGE_PIN_NOT_SET: { text: "Your badge needs a PIN, but you haven't set one yet. Sign in with your password and set a PIN.", preferMessage: false, retryable: false },
  BADGE_PIN_WRONG: { text: "That PIN isn't right. Check it and try again.", preferMessage: true, retryable: false },
  BADGE_LOCKED: { text: `This badge is locked for ${DOMAIN_RULES.pin.lockout_minutes} minutes after too many wrong PINs. Use your password instead.`, preferMessage: false, retryable: true },
  BADGE_DEVICE_NOT_ALLOWED: { text: "This device belongs to another facility and can't sign you in. Use a device in your own facility.", preferMessage: false, retryable: false },
  VISITOR_CODE_INVALID: { text: "That code didn't work. Check it with the staff.", preferMessage: false, retryable: false },
  FORGED_AUTHOR: { text: "The server refused this entry: it names someone who wasn't signed in on this device at the time. It stays on this device; show it to your administrator.", preferMessage: false, retryable: false },
  UNSUPPORTED_VERSION: { text: "This app version is too old for the server. Ask your administrator to update this device.", preferMessage: false, retryable: false },
  OFFLINE: { text: "This device is offline. Your work is saved here and will sync when the connection returns.", preferMessage: false, retryable: true },
  CONFIG_INVALID: { text: "This device's settings are invalid. Ask your administrator to set it up again.", preferMessage: true, retryable: false },
  STORAGE_UNAVAILABLE: { text: "This device can't read or save its data right now. Restart the app; if it keeps happening, contact support.", preferMessage: false, retryable: true },
  UNAVAILABLE: { text: "The service isn't available right now. Try again in a moment.", preferMessage: false, retryable: true },
  INTERNAL: { text: "Something went wrong on our side. Try again; if it keeps happening, contact support.", preferMessage: false, retryable: true },
};

/** Every code the UI knows, in the order of the contract. */
export const ERROR_CODES = Object.keys(COPY) as readonly ErrorCode[];

const FALLBACK_TEXT = "Something went wrong. Try again; if it keeps happening, contact support.";

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.prototype.hasOwnProperty.call(COPY, value);
}

/** A message for people, chosen by `code`; falls back to the backend's message for codes this build doesn't know. */
export function errorMessage(error: AppError): string {
  const message = typeof error.message === "string" ? error.message.trim() : "";
  if (!isErrorCode(error.code)) return message || FALLBACK_TEXT;
  const copy = COPY[error.code];
  return copy.preferMessage && message ? message : copy.text;
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

/** The first message the backend gave for `field`, if any. */
export function fieldError(error: AppError | null, field: string): string | undefined {
  return error?.fields?.[field]?.[0];
}
