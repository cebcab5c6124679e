import { render, screen, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import { setDeviceLanguage } from "$lib/i18n/index.svelte";
import { DESKTOP_INFO, mockCommands, reject } from "../test/ipc";
import AboutScreen from "./AboutScreen.svelte";

describe("AboutScreen", () => {
  it("shows the device details from appInfo", async () => {
    const calls = mockCommands({
      app_info: { ...DESKTOP_INFO, profile: "kiosk", platform: "linux-aarch64", webkit_dmabuf_workaround: true },
    });
    render(AboutScreen);

    expect(await screen.findByTestId("about-version")).toHaveTextContent("0.1.0");
    expect(screen.getByTestId("about-profile")).toHaveTextContent("Kiosk");
    expect(screen.getByTestId("about-profile")).toHaveAttribute("data-profile", "kiosk");
    expect(screen.getByTestId("about-platform")).toHaveTextContent("linux-aarch64");
    expect(screen.getByTestId("about-data-dir")).toHaveTextContent("/home/nurse/.local/share/org.tend.app");
    expect(screen.getByTestId("about-log-dir")).toHaveTextContent("/home/nurse/.local/share/org.tend.app/logs");
    expect(screen.getByTestId("about-dmabuf")).toHaveTextContent("On");
    expect(calls).toEqual(["app_info"]);
  });

  it("checks again on request", async () => {
    let version = "0.1.0";
    const calls = mockCommands({ app_info: () => ({ ...DESKTOP_INFO, version }) });
    render(AboutScreen);
    expect(await screen.findByTestId("about-version")).toHaveTextContent("0.1.0");

    version = "0.2.0";
    await userEvent.click(screen.getByRole("button", { name: "Check again" }));

    await waitFor(() => expect(screen.getByTestId("about-version")).toHaveTextContent("0.2.0"));
    expect(calls).toEqual(["app_info", "app_info"]);
  });

  it("shows a readable error and recovers on retry", async () => {
    let fail = true;
    mockCommands({
      app_info: () => (fail ? reject("STORAGE_UNAVAILABLE", "open /data: permission denied") : DESKTOP_INFO),
    });
    render(AboutScreen);

    const alert = await screen.findByTestId("about-error");
    expect(alert).toHaveAttribute("data-code", "STORAGE_UNAVAILABLE");
    expect(alert).toHaveTextContent("can't read or save its data");
    expect(alert).not.toHaveTextContent("permission denied");
    expect(screen.queryByTestId("about-version")).not.toBeInTheDocument();

    fail = false;
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByTestId("about-version")).toHaveTextContent("0.1.0");
    expect(screen.queryByTestId("about-error")).not.toBeInTheDocument();
  });

  it("explains when there is no backend at all", async () => {
    // No mockIPC: like opening the UI in a plain browser, invoke throws a TypeError.
    render(AboutScreen);
    const alert = await screen.findByTestId("about-error");
    expect(alert).toHaveAttribute("data-code", "UNAVAILABLE");
    expect(alert).toHaveTextContent("isn't available right now");
  });
});

describe("AboutScreen in Spanish", () => {
  afterEach(() => setDeviceLanguage("en"));

  it("names the details and a failure in Spanish", async () => {
    setDeviceLanguage("es");
    mockCommands({ app_info: { ...DESKTOP_INFO, profile: "kiosk", webkit_dmabuf_workaround: false } });
    render(AboutScreen);
    expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("Acerca de este dispositivo");
    expect(await screen.findByTestId("about-profile")).toHaveTextContent("Quiosco (de pared, letra grande)");
    expect(screen.getByTestId("about-dmabuf")).toHaveTextContent("Desactivada");
    expect(screen.getByText("Carpeta de datos")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Comprobar de nuevo" })).toBeInTheDocument();
  });

  it("shows a failure in Spanish", async () => {
    setDeviceLanguage("es");
    mockCommands({ app_info: () => reject("STORAGE_UNAVAILABLE", "open /data: permission denied") });
    render(AboutScreen);
    const error = await screen.findByTestId("about-error");
    expect(error).toHaveTextContent("No se pudieron leer los datos de este dispositivo");
    expect(error).toHaveTextContent("Este dispositivo no puede leer ni guardar sus datos");
    expect(error).toHaveTextContent("Intentar de nuevo");
  });
});
