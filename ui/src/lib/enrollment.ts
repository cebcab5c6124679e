// Words for first-run enrollment: what each enrollment failure means for the person at
// the device (and, for a clone conflict, what the administrator should do), how the
// identity source reads, and why a wiped device is back at setup. Branches on codes only.

import type { AppError, ErrorCode, IdentitySource, WipeNotice } from "./bindings";
import { errorMessage } from "./errors";

/** How often the "waiting for approval" view asks the server again. */
export const APPROVAL_POLL_MS = 3_000;

const CODE_PROBLEMS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "ENROLLMENT_CODE_INVALID",
  "ENROLLMENT_CODE_EXPIRED",
  "ENROLLMENT_CODE_REVOKED",
  "ENROLLMENT_CODE_EXHAUSTED",
  "ENROLLMENT_CODE_REQUIRED",
]);

const ENROLLMENT_COPY: Partial<Record<ErrorCode, string>> = {
  ENROLLMENT_CODE_INVALID:
    "That enrollment code isn't right. Check it for typos (letters and numbers in groups of four), or ask your administrator for a new one.",
  ENROLLMENT_CODE_EXPIRED: "That enrollment code has expired. Ask your administrator for a new one.",
  ENROLLMENT_CODE_REVOKED: "That enrollment code was cancelled by an administrator. Ask them for a new one.",
  ENROLLMENT_CODE_EXHAUSTED:
    "That enrollment code has already been used as many times as it allows. Ask your administrator for a new one.",
  ENROLLMENT_CODE_REQUIRED:
    "This device needs an enrollment code. Ask your administrator for one, or ask them to register this device's hardware ID first.",
  RATE_LIMITED: "Too many enrollment attempts in a short time. Wait a minute, then try again.",
  OFFLINE:
    "The server can't be reached. Check this device's network connection and the server address, then try again.",
  DEVICE_CLONE_CONFLICT:
    "Another device is already enrolled with this hardware ID, often because both were set up from the same disk image.",
};

/** What the administrator does about a clone conflict (shown with the hardware ID). */
export const CLONE_CONFLICT_HELP =
  "Administrator: in the admin console under Devices, find the device with the hardware ID shown on this screen. If this device replaces it, deactivate the old one and give this device a new code. If both are in use, reinstall this device's system so it gets its own identity.";

/** A sentence for an enrollment failure, in the words of the setup screen. */
export function enrollmentErrorMessage(error: AppError): string {
  return ENROLLMENT_COPY[error.code] ?? errorMessage(error);
}

/** The heading above an enrollment failure. */
export function enrollmentErrorTitle(error: AppError): string {
  return CODE_PROBLEMS.has(error.code) ? "This code can't be used" : "This device couldn't be enrolled";
}

const SOURCE_WORDS: Record<IdentitySource, string> = {
  dmi_product_uuid: "Computer's built-in system ID (DMI)",
  raspberry_pi_serial: "Raspberry Pi serial number",
  mac_platform_uuid: "Mac hardware ID",
  windows_machine_guid: "Windows machine ID",
  machine_id: "Operating system's machine ID",
};

export function identitySourceWords(source: IdentitySource): string {
  return SOURCE_WORDS[source] ?? source;
}

/** Why a wiped device is back at setup. */
export function wipeNoticeMessage(notice: WipeNotice): string {
  switch (notice.reason) {
    case "DEVICE_DEACTIVATED":
      return "An administrator deactivated this device; its local data has been erased.";
    case "DEVICE_REJECTED":
      return "An administrator rejected this device; its local data has been erased.";
    default:
      return "The server no longer recognizes this device; its local data has been erased.";
  }
}
