import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { FamilyDay, FamilyVisit } from "$lib/bindings";
import { mockCommands, reject } from "../test/ipc";
import FamilyScreen from "./FamilyScreen.svelte";

const VISIT: FamilyVisit = { visitor_name: "Ana", resident_name: "Margaret H.", room: "12B" };
const DAY: FamilyDay = {
  visit: VISIT,
  day_summary: { id: 1, body: "Margaret had a calm morning.", posted_at: "2026-11-27T10:00:00Z" },
  activities: [{ id: 2, body: "Joined the music circle.", posted_at: "2026-11-27T11:00:00Z" }],
  messages: [{ id: 3, body: "She asked about the grandchildren.", posted_at: "2026-11-26T15:00:00Z" }],
};
const EMPTY_DAY: FamilyDay = { visit: VISIT, day_summary: null, activities: [], messages: [] };

function backend(overrides: Record<string, unknown> = {}): string[] {
  return mockCommands({
    family_settings: { idle_reset_ms: 60_000 },
    family_check_in: VISIT,
    family_summary: DAY,
    family_send_message: null,
    family_end: null,
    ...overrides,
  });
}

async function typeCode(digits: string): Promise<void> {
  for (const digit of digits) await userEvent.click(screen.getByTestId(`family-key-${digit}`));
}

async function checkIn(): Promise<void> {
  await userEvent.click(await screen.findByTestId("family-visit"));
  await typeCode("48210937");
  expect(screen.getByTestId("family-code")).toHaveValue("4821 0937");
  await userEvent.click(screen.getByTestId("family-submit"));
}

afterEach(() => {
  vi.useRealTimers();
});

describe("FamilyScreen", () => {
  it("welcomes, takes the code on the keypad and shows only the shared day", async () => {
    const calls = backend();
    render(FamilyScreen);
    expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("Welcome");
    await userEvent.click(screen.getByTestId("family-visit"));
    // The submit button waits for all eight digits; Delete and Clear fix mistakes.
    await typeCode("4821");
    expect(screen.getByTestId("family-submit")).toBeDisabled();
    await userEvent.click(screen.getByTestId("family-delete"));
    expect(screen.getByTestId("family-code")).toHaveValue("482");
    await userEvent.click(screen.getByTestId("family-clear"));
    expect(screen.getByTestId("family-code")).toHaveValue("");
    await typeCode("48210937");
    await userEvent.click(screen.getByTestId("family-submit"));

    expect(await screen.findByTestId("family-day-summary")).toHaveTextContent("Margaret had a calm morning.");
    expect(screen.getByTestId("family-day-title")).toHaveTextContent("Margaret H.'s day");
    expect(screen.getByTestId("family-room")).toHaveTextContent("Room 12B");
    expect(screen.getByTestId("family-activities")).toHaveTextContent("Joined the music circle.");
    expect(screen.getByTestId("family-messages")).toHaveTextContent("She asked about the grandchildren.");
    expect(calls).toContain("family_check_in");
    expect(calls).toContain("family_summary");
  });

  it("sends the typed code to the backend", async () => {
    let sent: unknown;
    backend({
      family_check_in: (args: Record<string, unknown>) => {
        sent = args.visitorCode;
        return VISIT;
      },
    });
    render(FamilyScreen);
    await checkIn();
    await screen.findByTestId("family-day-summary");
    expect(sent).toBe("48210937");
  });

  it("says in plain words when the code didn't work, and lets them try again", async () => {
    backend({ family_check_in: reject("VISITOR_CODE_INVALID", "that visitor code did not work") });
    render(FamilyScreen);
    await checkIn();
    expect(await screen.findByTestId("family-code-error")).toHaveTextContent(
      "That code didn't work. Check it with the staff.",
    );
    expect(screen.getByTestId("family-code")).toHaveValue("");
    expect(screen.queryByTestId("family-day-summary")).not.toBeInTheDocument();
  });

  it.each([
    ["RATE_LIMITED", /Too many tries/],
    ["OFFLINE", /can't reach the care team/],
    ["FORBIDDEN", /not turned on here/],
    ["CONFIG_INVALID", /isn't set up yet/],
    ["INTERNAL", /Something went wrong/],
  ] as const)("explains %s without jargon", async (code, words) => {
    backend({ family_check_in: reject(code, "technical detail") });
    render(FamilyScreen);
    await checkIn();
    const error = await screen.findByTestId("family-code-error");
    expect(error).toHaveTextContent(words);
    expect(error).not.toHaveTextContent("technical detail");
  });

  it("shows empty sections in plain words", async () => {
    backend({ family_summary: EMPTY_DAY });
    render(FamilyScreen);
    await checkIn();
    expect(await screen.findByTestId("family-no-summary")).toHaveTextContent("hasn't written about today yet");
    expect(screen.getByTestId("family-no-activities")).toBeInTheDocument();
    expect(screen.getByTestId("family-no-messages")).toBeInTheDocument();
  });

  it("shows a loading line while the day comes", async () => {
    let answer: (value: FamilyDay) => void = () => undefined;
    backend({ family_summary: () => new Promise((resolve) => (answer = resolve)) });
    render(FamilyScreen);
    await checkIn();
    expect(await screen.findByTestId("family-day-loading")).toHaveTextContent("Getting today's news");
    answer(DAY);
    expect(await screen.findByTestId("family-day-summary")).toBeInTheDocument();
    expect(screen.queryByTestId("family-day-loading")).not.toBeInTheDocument();
  });

  it("offers Try again when the day cannot be read", async () => {
    let attempts = 0;
    backend({
      family_summary: () => {
        attempts += 1;
        return attempts === 1 ? reject("OFFLINE", "down") : DAY;
      },
    });
    render(FamilyScreen);
    await checkIn();
    const error = await screen.findByTestId("family-day-error");
    expect(error).toHaveTextContent("can't reach the care team");
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByTestId("family-day-summary")).toBeInTheDocument();
  });

  it("returns to the welcome screen when the server ended the visit", async () => {
    const calls = backend({ family_summary: reject("UNAUTHORIZED", "authentication required") });
    render(FamilyScreen);
    await checkIn();
    expect(await screen.findByTestId("family-notice")).toHaveTextContent("Your visit on this screen has ended");
    expect(screen.getByTestId("family")).toHaveAttribute("data-step", "welcome");
    expect(calls).toContain("family_end");
  });

  it("leaves a message for the team and thanks them", async () => {
    let body: unknown;
    backend({
      family_send_message: (args: Record<string, unknown>) => {
        body = args.body;
        return null;
      },
    });
    render(FamilyScreen);
    await checkIn();
    await userEvent.click(await screen.findByTestId("family-leave-message"));
    // An empty message is caught before it is sent.
    await userEvent.click(screen.getByTestId("family-send"));
    expect(await screen.findByTestId("family-message-error")).toHaveTextContent("Please write a message first.");
    await userEvent.type(screen.getByLabelText("Your message"), "See you on Sunday!");
    expect(screen.getByText("1982 characters left")).toBeInTheDocument();
    await userEvent.click(screen.getByTestId("family-send"));
    expect(await screen.findByTestId("family-thanks")).toHaveTextContent("Thank you");
    expect(body).toBe("See you on Sunday!");
    await userEvent.click(screen.getByTestId("family-back-to-day"));
    expect(await screen.findByTestId("family-day-summary")).toBeInTheDocument();
  });

  it("says so when a message cannot be sent", async () => {
    backend({ family_send_message: reject("OFFLINE", "down") });
    render(FamilyScreen);
    await checkIn();
    await userEvent.click(await screen.findByTestId("family-leave-message"));
    await userEvent.type(screen.getByLabelText("Your message"), "Hello");
    await userEvent.click(screen.getByTestId("family-send"));
    expect(await screen.findByTestId("family-message-error")).toHaveTextContent("can't reach the care team");
  });

  it("switches every step to Spanish and back", async () => {
    backend({ family_check_in: reject("VISITOR_CODE_INVALID", "x") });
    render(FamilyScreen);
    const toggle = screen.getByTestId("family-language");
    expect(toggle).toHaveTextContent("Español");
    await userEvent.click(toggle);
    expect(screen.getByTestId("family")).toHaveAttribute("lang", "es");
    expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("Bienvenido");
    expect(screen.getByTestId("family-visit")).toHaveTextContent("Visitar a alguien");
    await userEvent.click(screen.getByTestId("family-visit"));
    expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("Escriba su código de visita");
    expect(screen.getByTestId("family-delete")).toHaveTextContent("Borrar");
    await typeCode("11112222");
    await userEvent.click(screen.getByTestId("family-submit"));
    expect(await screen.findByTestId("family-code-error")).toHaveTextContent(
      "Ese código no funcionó. Verifíquelo con el personal.",
    );
    await userEvent.click(screen.getByTestId("family-language"));
    expect(screen.getByTestId("family")).toHaveAttribute("lang", "en");
    expect(screen.getByTestId("family-code-error")).toHaveTextContent("That code didn't work");
  });

  it("shows the day in Spanish", async () => {
    backend();
    render(FamilyScreen);
    await userEvent.click(screen.getByTestId("family-language"));
    await checkIn();
    expect(await screen.findByTestId("family-day-title")).toHaveTextContent("El día de Margaret H.");
    expect(screen.getByTestId("family-room")).toHaveTextContent("Habitación 12B");
    expect(screen.getByTestId("family-leave-message")).toHaveTextContent("Dejar un mensaje al equipo");
  });

  it("resets to the welcome screen after a minute untouched and ends the visit", async () => {
    vi.useFakeTimers();
    const calls = backend();
    render(FamilyScreen);
    await vi.advanceTimersByTimeAsync(0);
    await fireEvent.click(screen.getByTestId("family-language"));
    await fireEvent.click(screen.getByTestId("family-visit"));
    for (const digit of "48210937") await fireEvent.click(screen.getByTestId(`family-key-${digit}`));
    await fireEvent.submit(screen.getByTestId("family-submit").closest("form")!);
    await vi.advanceTimersByTimeAsync(0);
    expect(screen.getByTestId("family-day-summary")).toBeInTheDocument();

    // Touches keep the visit going.
    await vi.advanceTimersByTimeAsync(59_000);
    await fireEvent.pointerDown(window);
    await vi.advanceTimersByTimeAsync(59_000);
    expect(screen.getByTestId("family")).toHaveAttribute("data-step", "day");
    expect(calls).not.toContain("family_end");

    // A minute without one: back to the welcome, in English, the visit ended.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(screen.getByTestId("family")).toHaveAttribute("data-step", "welcome");
    expect(screen.getByTestId("family")).toHaveAttribute("lang", "en");
    expect(screen.queryByText("Margaret had a calm morning.")).not.toBeInTheDocument();
    expect(calls).toContain("family_end");
  });

  it("uses the idle time the app is configured with", async () => {
    vi.useFakeTimers();
    backend({ family_settings: { idle_reset_ms: 5_000 } });
    render(FamilyScreen);
    await vi.advanceTimersByTimeAsync(0);
    await fireEvent.click(screen.getByTestId("family-visit"));
    expect(screen.getByTestId("family")).toHaveAttribute("data-step", "code");
    await vi.advanceTimersByTimeAsync(5_000);
    expect(screen.getByTestId("family")).toHaveAttribute("data-step", "welcome");
  });
});
