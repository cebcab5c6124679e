import { render, screen } from "@testing-library/svelte";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { DeviceSummary } from "$lib/bindings";
import { setDeviceLanguage } from "$lib/i18n/index.svelte";
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

describe("DeviceTable in Spanish", () => {
  afterEach(() => setDeviceLanguage("en"));

  it("words statuses, types, sync and the deactivate confirmation in Spanish", async () => {
    setDeviceLanguage("es");
    const ondeactivate = vi.fn();
    render(DeviceTable, {
      devices: [
        device({ status: "PENDING", has_identity_key: true }),
        device({ id: 2, device_name: "Hall Kiosk", device_type: "RASPBERRY_PI", encryption_posture: "server_bound" }),
        device({ id: 3, device_name: "Old Tablet", status: "DEACTIVATED" }),
      ],
      onapprove: noop,
      onreject: noop,
      ondeactivate,
      now: NOW,
    });
    expect(screen.getByTestId("device-status-1")).toHaveTextContent("Esperando aprobación");
    expect(screen.getByTestId("device-status-2")).toHaveTextContent("Activo");
    expect(screen.getByTestId("device-status-3")).toHaveTextContent("Desactivado");
    const kiosk = screen.getByTestId("device-row-2");
    expect(kiosk).toHaveTextContent("Quiosco de pared (Raspberry Pi)");
    expect(kiosk).toHaveTextContent("Cifrado (clave guardada con el servidor)");
    expect(kiosk).toHaveTextContent("hace 2 minutos");
    expect(screen.getByRole("columnheader", { name: "Última conexión" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: `Aprobar ${device({}).device_name}` })).toBeInTheDocument();

    screen.getByRole("button", { name: "Desactivar Hall Kiosk" }).click();
    const panel = await screen.findByTestId("deactivate-confirm-panel");
    expect(panel).toHaveTextContent("¿Desactivar «Hall Kiosk»?");
    expect(panel).toHaveTextContent("borrará todos sus datos locales");
    screen.getByRole("button", { name: "Desactivar y borrar" }).click();
    expect(ondeactivate).toHaveBeenCalledTimes(1);
  });
});
