// Words for first-run enrollment: what each enrollment failure means for the person at
// the device (and, for a clone conflict, what the administrator should do), how the
// identity source reads, and why a wiped device is back at setup. Branches on codes only.

import type { AppError, ErrorCode, IdentitySource, WipeNotice } from "./bindings";
import { errorMessage } from "./errors";
import { t } from "./i18n/index.svelte";

/** How often the "waiting for approval" view asks the server again. */
export const APPROVAL_POLL_MS = 3_000;

const CODE_PROBLEMS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "ENROLLMENT_CODE_INVALID",
  "ENROLLMENT_CODE_EXPIRED",
  "ENROLLMENT_CODE_REVOKED",
  "ENROLLMENT_CODE_EXHAUSTED",
  "ENROLLMENT_CODE_REQUIRED",
]);

// Failures the setup screen explains in its own words (the rest in the general ones).
const ENROLLMENT_KEYS = {
  ENROLLMENT_CODE_INVALID: "setup.errors.ENROLLMENT_CODE_INVALID",
  ENROLLMENT_CODE_EXPIRED: "setup.errors.ENROLLMENT_CODE_EXPIRED",
  ENROLLMENT_CODE_REVOKED: "setup.errors.ENROLLMENT_CODE_REVOKED",
  ENROLLMENT_CODE_EXHAUSTED: "setup.errors.ENROLLMENT_CODE_EXHAUSTED",
  ENROLLMENT_CODE_REQUIRED: "setup.errors.ENROLLMENT_CODE_REQUIRED",
  RATE_LIMITED: "setup.errors.RATE_LIMITED",
  OFFLINE: "setup.errors.OFFLINE",
  DEVICE_CLONE_CONFLICT: "setup.errors.DEVICE_CLONE_CONFLICT",
} as const satisfies Partial<Record<ErrorCode, string>>;

type EnrollmentCode = keyof typeof ENROLLMENT_KEYS;

function hasEnrollmentWords(code: ErrorCode): code is EnrollmentCode {
  return Object.prototype.hasOwnProperty.call(ENROLLMENT_KEYS, code);
}

/** What the administrator does about a clone conflict (shown with the hardware ID). */
export function cloneConflictHelp(): string {
  return t("setup.errors.cloneHelp");
}

/** A sentence for an enrollment failure, in the words of the setup screen and the language shown. */
export function enrollmentErrorMessage(error: AppError): string {
  return hasEnrollmentWords(error.code) ? t(ENROLLMENT_KEYS[error.code]) : errorMessage(error);
}

/** The heading above an enrollment failure. */
export function enrollmentErrorTitle(error: AppError): string {
  return CODE_PROBLEMS.has(error.code) ? t("setup.errors.codeTitle") : t("setup.errors.deviceTitle");
}

const SOURCE_KEYS = {
  dmi_product_uuid: "setup.identity.sources.dmi_product_uuid",
  raspberry_pi_serial: "setup.identity.sources.raspberry_pi_serial",
  mac_platform_uuid: "setup.identity.sources.mac_platform_uuid",
  windows_machine_guid: "setup.identity.sources.windows_machine_guid",
  machine_id: "setup.identity.sources.machine_id",
} as const satisfies Record<IdentitySource, string>;

export function identitySourceWords(source: IdentitySource): string {
  const key = SOURCE_KEYS[source] as (typeof SOURCE_KEYS)[IdentitySource] | undefined;
  return key ? t(key) : source;
}

/** Why a wiped device is back at setup. */
export function wipeNoticeMessage(notice: WipeNotice): string {
  switch (notice.reason) {
    case "DEVICE_DEACTIVATED":
      return t("setup.wiped.deactivated");
    case "DEVICE_REJECTED":
      return t("setup.wiped.rejected");
    default:
      return t("setup.wiped.unknown");
  }
}
