import { render, screen, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import { events, type DeviceIdentityInfo, type EnrollmentState, type ErrorCode } from "$lib/bindings";
import { setDeviceLanguage } from "$lib/i18n/index.svelte";
import { NOT_CONFIGURED, mockCommands, reject } from "../test/ipc";
import SetupScreen from "./SetupScreen.svelte";

const IDENTITY: DeviceIdentityInfo = {
  device_uuid: "4c4c4544-0042-3510-8052-b4c04f4e4d32",
  identity_source: "machine_id",
  mac_address: "00:1a:2b:3c:4d:5e",
  os: "Debian GNU/Linux 12",
  device_name: "hall-kiosk",
};

function enrolled(status: EnrollmentState["status"]): EnrollmentState {
  return {
    server_url: "https://tend.example.org",
    device_id: 7,
    device_uuid: IDENTITY.device_uuid,
    organization_id: 1,
    facility_id: 2,
    facility_name: "Sunrise ALF - North Campus",
    status,
    checked_at: "2026-11-27T02:00:00Z",
  };
}

/** The commands the screen calls when it opens, answering "never set up". */
function backend(handlers: Record<string, unknown> = {}): string[] {
  return mockCommands({
    check_server_url: checkServerUrl,
    device_identity: IDENTITY,
    wipe_notice: null,
    enrollment_status: null,
    app_status: NOT_CONFIGURED,
    ...handlers,
  });
}

const OPENING = ["device_identity", "app_status", "wipe_notice", "enrollment_status"];

/** Types a valid address and waits for step 2. */
async function toStepTwo(user: ReturnType<typeof userEvent.setup>): Promise<void> {
  await user.type(screen.getByTestId("server-url-input"), "https://tend.example.org{Enter}");
  await screen.findByTestId("enroll-form");
}

/** Mimics the Rust rule: HTTPS, except loopback addresses while testing. */
function checkServerUrl({ url }: Record<string, unknown>): unknown {
  const text = String(url);
  if (text.startsWith("http://localhost")) return { normalized: `${text}/`, is_loopback: true };
  if (text.startsWith("https://")) return { normalized: `${text.replace(/\/*$/, "")}/`, is_loopback: false };
  return reject("VALIDATION_FAILED", "The server address must start with https:// (http:// is allowed only for this computer, such as localhost).");
}

describe("SetupScreen", () => {
  it("fills in the server address the device was configured with", async () => {
    backend({ app_status: { ...NOT_CONFIGURED, connection: "online", server_url: "http://127.0.0.1:8080" } });
    render(SetupScreen);
    await waitFor(() => expect(screen.getByTestId("server-url-input")).toHaveValue("http://127.0.0.1:8080"));
  });

  it("has a labelled server address field", () => {
    render(SetupScreen);
    expect(screen.getByLabelText("Server address")).toBe(screen.getByTestId("server-url-input"));
  });

  it("shows the normalized address when the backend accepts it", async () => {
    const user = userEvent.setup();
    const calls = backend();
    render(SetupScreen);

    await user.type(screen.getByTestId("server-url-input"), "  https://tend.example.org  ");
    await user.click(screen.getByTestId("server-url-check"));

    const ok = await screen.findByTestId("server-url-ok");
    expect(ok).toHaveTextContent("https://tend.example.org/");
    expect(ok).not.toHaveTextContent("test server");
    expect(screen.queryByTestId("server-url-error")).not.toBeInTheDocument();
    expect(calls.filter((c) => !OPENING.includes(c))).toEqual(["check_server_url"]);
  });

  it("notes when an accepted address is a loopback test server", async () => {
    const user = userEvent.setup();
    backend();
    render(SetupScreen);

    await user.type(screen.getByTestId("server-url-input"), "http://localhost:8080{Enter}");

    const ok = await screen.findByTestId("server-url-ok");
    expect(ok).toHaveTextContent("http://localhost:8080/");
    expect(ok).toHaveTextContent("test server on this computer");
  });

  it("shows the backend's message for a rejected address", async () => {
    const user = userEvent.setup();
    backend();
    render(SetupScreen);

    const input = screen.getByTestId("server-url-input");
    await user.type(input, "http://tend.example.org");
    await user.click(screen.getByTestId("server-url-check"));

    const error = await screen.findByTestId("server-url-error");
    expect(error).toHaveTextContent("must start with https://");
    expect(error).toHaveAttribute("role", "alert");
    expect(input).toHaveAttribute("aria-invalid", "true");
    expect(screen.queryByTestId("server-url-ok")).not.toBeInTheDocument();
  });

  it("clears the verdict when the address is edited", async () => {
    const user = userEvent.setup();
    backend();
    render(SetupScreen);

    const input = screen.getByTestId("server-url-input");
    await user.type(input, "ftp://x{Enter}");
    expect(await screen.findByTestId("server-url-error")).toBeInTheDocument();

    await user.type(input, "y");
    expect(screen.queryByTestId("server-url-error")).not.toBeInTheDocument();
    expect(input).not.toHaveAttribute("aria-invalid");
  });

  it("asks for an address without calling the backend when the field is empty", async () => {
    const user = userEvent.setup();
    const calls = backend();
    render(SetupScreen);

    await user.click(screen.getByTestId("server-url-check"));

    expect(await screen.findByTestId("server-url-error")).toHaveTextContent("Enter the server address first.");
    expect(calls.filter((c) => !OPENING.includes(c))).toEqual([]);
  });

  it("shows readable copy, not internals, when the check itself fails", async () => {
    const user = userEvent.setup();
    backend({ check_server_url: () => reject("INTERNAL", "panicked at src/url.rs:12") });
    render(SetupScreen);

    await user.type(screen.getByTestId("server-url-input"), "https://tend.example.org{Enter}");

    const error = await screen.findByTestId("server-url-error");
    expect(error).toHaveTextContent("Something went wrong");
    expect(error).not.toHaveTextContent("panicked");
  });

  it("shows this device's identity for the administrator once the address is accepted", async () => {
    const user = userEvent.setup();
    backend();
    render(SetupScreen);
    expect(screen.queryByTestId("enroll-form")).not.toBeInTheDocument();

    await toStepTwo(user);

    const card = await screen.findByTestId("device-identity");
    await waitFor(() => expect(screen.getByTestId("device-uuid")).toHaveTextContent(IDENTITY.device_uuid));
    expect(screen.getByTestId("identity-source")).toHaveTextContent("Operating system's machine ID");
    expect(screen.getByTestId("device-mac")).toHaveTextContent("00:1a:2b:3c:4d:5e");
    expect(screen.getByTestId("device-os")).toHaveTextContent("Debian GNU/Linux 12");
    expect(card).toHaveTextContent("hall-kiosk");
    expect(screen.getByLabelText("Enrollment code")).toBe(screen.getByTestId("enrollment-code-input"));
  });

  it("says so when the hardware ID can't be read", async () => {
    const user = userEvent.setup();
    backend({ device_identity: () => reject("CONFIG_INVALID", "no usable hardware identity: no DMI product_uuid") });
    render(SetupScreen);
    await toStepTwo(user);
    expect(await screen.findByTestId("device-identity-error")).toHaveTextContent("no usable hardware identity");
  });

  it("enrolls with the code as typed and goes on to the lock screen when active", async () => {
    const user = userEvent.setup();
    const sent: Record<string, unknown>[] = [];
    backend({
      enroll_device: (args: Record<string, unknown>) => {
        sent.push(args);
        return enrolled("ACTIVE");
      },
    });
    render(SetupScreen);
    await toStepTwo(user);

    await user.type(screen.getByTestId("enrollment-code-input"), "abcd efgh-jkmn");
    await user.click(screen.getByTestId("enroll-submit"));

    await waitFor(() => expect(window.location.hash).toBe("#/lock"));
    expect(sent).toEqual([{ serverUrl: "https://tend.example.org/", code: "abcd efgh-jkmn" }]);
  });

  it.each<[ErrorCode, string, string]>([
    ["ENROLLMENT_CODE_INVALID", "This code can't be used", "isn't right. Check it for typos"],
    ["ENROLLMENT_CODE_EXPIRED", "This code can't be used", "has expired"],
    ["ENROLLMENT_CODE_REVOKED", "This code can't be used", "was cancelled by an administrator"],
    ["ENROLLMENT_CODE_EXHAUSTED", "This code can't be used", "already been used as many times as it allows"],
    ["ENROLLMENT_CODE_REQUIRED", "This code can't be used", "needs an enrollment code"],
    ["RATE_LIMITED", "This device couldn't be enrolled", "Too many enrollment attempts"],
    ["OFFLINE", "This device couldn't be enrolled", "The server can't be reached"],
    ["DEVICE_CLONE_CONFLICT", "This device couldn't be enrolled", "Another device is already enrolled with this hardware ID"],
  ])("explains %s in its own words", async (code, title, text) => {
    const user = userEvent.setup();
    backend({ enroll_device: () => reject(code, "server detail") });
    render(SetupScreen);
    await toStepTwo(user);

    await user.type(screen.getByTestId("enrollment-code-input"), "ABCD-EFGH{Enter}");

    const error = await screen.findByTestId("enrollment-error");
    expect(error).toHaveAttribute("data-code", code);
    expect(error).toHaveTextContent(title);
    expect(error).toHaveTextContent(text);
    expect(error).not.toHaveTextContent("server detail");
    expect(screen.getByTestId("enrollment-code-input")).toHaveAttribute("aria-invalid", "true");
    expect(window.location.hash).not.toBe("#/lock");
  });

  it("tells the administrator what to do about a clone conflict, next to the hardware ID", async () => {
    const user = userEvent.setup();
    backend({ enroll_device: () => reject("DEVICE_CLONE_CONFLICT", "conflict") });
    render(SetupScreen);
    await toStepTwo(user);

    await user.type(screen.getByTestId("enrollment-code-input"), "ABCD{Enter}");

    const help = await screen.findByTestId("clone-conflict-help");
    expect(help).toHaveTextContent("Administrator:");
    expect(help).toHaveTextContent("deactivate the old one");
    expect(screen.getByTestId("device-uuid")).toHaveTextContent(IDENTITY.device_uuid);
  });

  it("shows no clone help for other errors, and clears the error when the code is edited", async () => {
    const user = userEvent.setup();
    backend({ enroll_device: () => reject("ENROLLMENT_CODE_EXPIRED", "expired") });
    render(SetupScreen);
    await toStepTwo(user);
    const input = screen.getByTestId("enrollment-code-input");
    await user.type(input, "ABCD{Enter}");
    expect(await screen.findByTestId("enrollment-error")).toBeInTheDocument();
    expect(screen.queryByTestId("clone-conflict-help")).not.toBeInTheDocument();

    await user.type(input, "E");
    expect(screen.queryByTestId("enrollment-error")).not.toBeInTheDocument();
  });

  it("waits for approval when pending, then goes on by itself once approved", async () => {
    const user = userEvent.setup();
    let answers = 0;
    const calls = backend({
      enroll_device: () => enrolled("PENDING"),
      enrollment_status: () => {
        answers += 1;
        // The opening check: not enrolled; then pending twice; then approved.
        if (answers === 1) return null;
        return enrolled(answers < 4 ? "PENDING" : "ACTIVE");
      },
    });
    render(SetupScreen, { pollMs: 10 });
    await toStepTwo(user);

    // An empty code: the administrator registered this device in advance.
    await user.click(screen.getByTestId("enroll-submit"));

    const pending = await screen.findByTestId("enrollment-pending");
    expect(pending).toHaveTextContent("Waiting for approval");
    expect(screen.getByTestId("device-uuid")).toHaveTextContent(IDENTITY.device_uuid);
    await waitFor(() => expect(window.location.hash).toBe("#/lock"));
    expect(calls.filter((c) => c === "enrollment_status").length).toBeGreaterThanOrEqual(4);
  });

  it("shows a rejection clearly and offers to enroll with a code", async () => {
    const user = userEvent.setup();
    let answers = 0;
    backend({
      enroll_device: () => enrolled("PENDING"),
      enrollment_status: () => (++answers === 1 ? null : enrolled("REJECTED")),
    });
    render(SetupScreen, { pollMs: 10 });
    await toStepTwo(user);
    await user.click(screen.getByTestId("enroll-submit"));

    const rejected = await screen.findByTestId("enrollment-rejected");
    expect(rejected).toHaveTextContent("This device was not approved");
    expect(rejected).toHaveTextContent("An administrator declined this device");
    expect(window.location.hash).not.toBe("#/lock");

    await user.click(screen.getByTestId("enrollment-start-over"));
    expect(await screen.findByTestId("server-url-input")).toBeInTheDocument();
  });

  it("keeps waiting, and says why, while the server can't be reached", async () => {
    let answers = 0;
    backend({
      enrollment_status: () => {
        answers += 1;
        if (answers === 1) return enrolled("PENDING");
        if (answers === 2) return reject("OFFLINE", "the server cannot be reached");
        return enrolled("ACTIVE");
      },
    });
    render(SetupScreen, { pollMs: 10 });

    // A device that was pending before a restart goes straight back to waiting.
    expect(await screen.findByTestId("enrollment-pending")).toBeInTheDocument();
    expect(await screen.findByTestId("enrollment-poll-error")).toHaveTextContent("The server can't be reached");
    await waitFor(() => expect(window.location.hash).toBe("#/lock"));
  });

  it("says why a wiped device is back at setup", async () => {
    backend({ wipe_notice: { reason: "DEVICE_DEACTIVATED", wiped_at: "2026-11-27T02:00:00Z" } });
    render(SetupScreen);

    const notice = await screen.findByTestId("wipe-notice");
    expect(notice).toHaveTextContent("An administrator deactivated this device; its local data has been erased.");
  });

  it("shows the wipe as soon as it happens while the screen is open", async () => {
    backend({ enrollment_status: enrolled("PENDING") });
    render(SetupScreen, { pollMs: 60_000 });
    expect(await screen.findByTestId("enrollment-pending")).toBeInTheDocument();
    expect(screen.queryByTestId("wipe-notice")).not.toBeInTheDocument();

    await events.deviceWiped.emit({ reason: "DEVICE_REJECTED", wiped_at: "2026-11-27T02:00:00Z" });

    expect(await screen.findByTestId("wipe-notice")).toHaveTextContent(
      "An administrator rejected this device; its local data has been erased.",
    );
    expect(screen.queryByTestId("enrollment-pending")).not.toBeInTheDocument();
  });
});

describe("SetupScreen in Spanish", () => {
  afterEach(() => setDeviceLanguage("en"));

  it("shows the heading, the steps and the device's identity in Spanish", async () => {
    setDeviceLanguage("es");
    const user = userEvent.setup();
    backend();
    render(SetupScreen);
    expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("Configurar este dispositivo");
    expect(screen.getByLabelText("Dirección del servidor")).toBe(screen.getByTestId("server-url-input"));
    expect(screen.getByTestId("server-url-check")).toHaveTextContent("Comprobar la dirección");
    await toStepTwo(user);
    expect(screen.getByTestId("enroll-submit")).toHaveTextContent("Inscribir este dispositivo");
    expect(await screen.findByTestId("identity-source")).toHaveTextContent("ID de equipo del sistema operativo");
  });

  it("asks for an address and explains an enrollment failure in Spanish", async () => {
    setDeviceLanguage("es");
    const user = userEvent.setup();
    backend({ enroll_device: () => reject("ENROLLMENT_CODE_EXPIRED", "server detail") });
    render(SetupScreen);
    await user.click(screen.getByTestId("server-url-check"));
    const empty = await screen.findByTestId("server-url-error");
    expect(empty).toHaveTextContent("No se puede usar esta dirección");
    expect(empty).toHaveTextContent("Primero ingrese la dirección del servidor.");
    await toStepTwo(user);
    await user.click(screen.getByTestId("enroll-submit"));
    const error = await screen.findByTestId("enrollment-error");
    expect(error).toHaveTextContent("No se puede usar este código");
    expect(error).toHaveTextContent("Ese código de inscripción venció.");
    expect(error).not.toHaveTextContent("server detail");
  });
});
