import { render, screen } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { mockCommands, reject } from "../test/ipc";
import SetupScreen from "./SetupScreen.svelte";

/** Mimics the Rust rule: HTTPS, except loopback addresses while testing. */
function checkServerUrl({ url }: Record<string, unknown>): unknown {
  const text = String(url);
  if (text.startsWith("http://localhost")) return { normalized: `${text}/`, is_loopback: true };
  if (text.startsWith("https://")) return { normalized: `${text.replace(/\/*$/, "")}/`, is_loopback: false };
  return reject("VALIDATION_FAILED", "The server address must start with https:// (http:// is allowed only for this computer, such as localhost).");
}

describe("SetupScreen", () => {
  it("has a labelled server address field", () => {
    render(SetupScreen);
    expect(screen.getByLabelText("Server address")).toBe(screen.getByTestId("server-url-input"));
  });

  it("shows the normalized address when the backend accepts it", async () => {
    const user = userEvent.setup();
    const calls = mockCommands({ check_server_url: checkServerUrl });
    render(SetupScreen);

    await user.type(screen.getByTestId("server-url-input"), "  https://tend.example.org  ");
    await user.click(screen.getByTestId("server-url-check"));

    const ok = await screen.findByTestId("server-url-ok");
    expect(ok).toHaveTextContent("https://tend.example.org/");
    expect(ok).not.toHaveTextContent("test server");
    expect(screen.queryByTestId("server-url-error")).not.toBeInTheDocument();
    expect(calls).toEqual(["check_server_url"]);
  });

  it("notes when an accepted address is a loopback test server", async () => {
    const user = userEvent.setup();
    mockCommands({ check_server_url: checkServerUrl });
    render(SetupScreen);

    await user.type(screen.getByTestId("server-url-input"), "http://localhost:8080{Enter}");

    const ok = await screen.findByTestId("server-url-ok");
    expect(ok).toHaveTextContent("http://localhost:8080/");
    expect(ok).toHaveTextContent("test server on this computer");
  });

  it("shows the backend's message for a rejected address", async () => {
    const user = userEvent.setup();
    mockCommands({ check_server_url: checkServerUrl });
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
    mockCommands({ check_server_url: checkServerUrl });
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
    const calls = mockCommands({ check_server_url: checkServerUrl });
    render(SetupScreen);

    await user.click(screen.getByTestId("server-url-check"));

    expect(await screen.findByTestId("server-url-error")).toHaveTextContent("Enter the server address first.");
    expect(calls).toEqual([]);
  });

  it("shows readable copy, not internals, when the check itself fails", async () => {
    const user = userEvent.setup();
    mockCommands({ check_server_url: () => reject("INTERNAL", "panicked at src/url.rs:12") });
    render(SetupScreen);

    await user.type(screen.getByTestId("server-url-input"), "https://tend.example.org{Enter}");

    const error = await screen.findByTestId("server-url-error");
    expect(error).toHaveTextContent("Something went wrong");
    expect(error).not.toHaveTextContent("panicked");
  });
});
