import { render, screen } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import type { DeviceSummary } from "$lib/bindings";
import DeviceTable from "./DeviceTable.svelte";

const NOW = new Date("2026-12-04T12:00:00Z");

function device(overrides: Partial<DeviceSummary>): DeviceSummary {
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
    last_seen: "2026-12-04T11:58:00Z",
    last_sync: "2026-12-04T11:58:00Z",
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

const noop = () => {};

describe("DeviceTable", () => {
  it("flags a device behind the newest version its facility runs, and names a kiosk's server-held key", () => {
    render(DeviceTable, {
      devices: [
        device({}),
        device({ id: 2, device_name: "Hall Kiosk", device_type: "RASPBERRY_PI", app_version: "0.10.0", encryption_posture: "server_bound" }),
        device({ id: 3, device_name: "Old Tablet", status: "DEACTIVATED", app_version: "0.0.9" }),
      ],
      onapprove: noop,
      onreject: noop,
      ondeactivate: noop,
      now: NOW,
    });
    expect(screen.getByTestId("version-behind-1")).toHaveTextContent("Behind 0.10.0");
    expect(screen.queryByTestId("version-behind-2")).not.toBeInTheDocument();
    // A deactivated device is not waiting for an update.
    expect(screen.queryByTestId("version-behind-3")).not.toBeInTheDocument();
    expect(screen.getByTestId("device-row-2")).toHaveTextContent("Encrypted (key held with the server)");
  });

  it("flags nothing when every device runs the same version", () => {
    render(DeviceTable, {
      devices: [device({}), device({ id: 2 })],
      onapprove: noop,
      onreject: noop,
      ondeactivate: noop,
      now: NOW,
    });
    expect(screen.queryByText(/Behind/)).not.toBeInTheDocument();
  });
});
