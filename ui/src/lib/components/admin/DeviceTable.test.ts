import { render, screen } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import type { DeviceSummary } from "$lib/bindings";
import { deviceSummary } from "../../../test/fixtures";
import DeviceTable from "./DeviceTable.svelte";

const NOW = new Date("2026-12-04T12:00:00Z");

function device(overrides: Partial<DeviceSummary>): DeviceSummary {
  return deviceSummary({ last_seen: "2026-12-04T11:58:00Z", last_sync: "2026-12-04T11:58:00Z", ...overrides });
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
