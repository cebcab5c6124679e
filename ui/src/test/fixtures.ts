// Wire values the component tests share.

import type { DeviceSummary, FacilityDetail_Serialize } from "$lib/bindings";
import { DEFAULT_POLICY } from "./ipc";

/** An active, online, synced nurse workstation with a keyring; `overrides` change what a test is about. */
export function deviceSummary(overrides: Partial<DeviceSummary> = {}): DeviceSummary {
  return {
    id: 1,
    facility_id: 10,
    device_name: "Nurse Station 1",
    device_type: "WORKSTATION",
    device_uuid: "4c4c4544-0042-3510-8052-b4c04f4e4d32",
    mac_address: null,
    status: "ACTIVE",
    is_online: true,
    sync_status: "SYNCED",
    last_seen: null,
    last_sync: null,
    app_version: "0.1.0",
    encryption_enabled: true,
    encryption_required: true,
    encryption_posture: "keyring",
    os: "Debian GNU/Linux 12",
    has_identity_key: true,
    clone_suspected_at: null,
    ...overrides,
  };
}

/** A roster resident's care details when nothing is recorded yet. */
export const NO_CARE_DETAILS = {
  admitted_at: null,
  allergies: null,
  code_status: null,
  diet: null,
  fall_risk: null,
  emergency_contact: null,
} as const;

/** Sunrise ALF - North Campus as the console reads it, its policy a little off the defaults. */
export function facilityDetail(overrides: Partial<FacilityDetail_Serialize> = {}): FacilityDetail_Serialize {
  return {
    id: 10,
    organization_id: 1,
    name: "Sunrise ALF - North Campus",
    facility_type: "ALF",
    medicaid_provider_number: null,
    medicare_provider_number: null,
    state_license_number: null,
    licensed_beds: 32,
    current_census: 28,
    occupancy_rate: 87.5,
    available_beds: 4,
    address: null,
    timezone: "America/Chicago",
    features: { family_portal: true },
    device_protection_minimum: "encrypted",
    policy: { ...DEFAULT_POLICY, idle_lock_kiosk_secs: 90, pin_min_digits: 6 },
    is_active: true,
    ...overrides,
  };
}
