import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import { currentLanguage, formatLongDate, setDeviceLanguage, setTimeZone, setUserLanguage } from "$lib/i18n/index.svelte";
import { NO_CARE_DETAILS } from "../test/fixtures";
import type { SessionState } from "$lib/bindings";
import type { RosterPatient } from "$lib/nurse-types";
import { mockCommands, reject } from "../test/ipc";
import HomeScreen from "./HomeScreen.svelte";

const ACTIVE: SessionState = {
  phase: "active",
  idle_warning: false,
  user: { id: 7, full_name: "Ada Nightingale", username: "ada", role: "RN" },
  failure: null,
  idle_lock_ms: 120_000,
  offline: false,
};

describe("HomeScreen: my language", () => {
  afterEach(() => {
    setUserLanguage(null);
    setDeviceLanguage("en");
  });

  it("offers her own language, saves it for her account and shows it at once", async () => {
    const calls = mockCommands({
      session_state: ACTIVE,
      reader_status: "connected",
      roster: [],
      due_follow_ups: [],
      handoff_notes: [],
      set_my_language: ({ language }: Record<string, unknown>) => ({ ...ACTIVE, user: { ...ACTIVE.user!, language } }),
    });
    render(HomeScreen);
    const none = await screen.findByTestId("my-language-none");
    expect(none).toBeChecked();
    await userEvent.click(screen.getByTestId("my-language-es"));
    await waitFor(() => expect(calls).toContain("set_my_language"));
    await waitFor(() => expect(currentLanguage()).toBe("es"));
    expect(screen.getByTestId("home-lock")).toHaveTextContent("Bloquear");
    expect(screen.queryByTestId("my-language-note")).not.toBeInTheDocument();
  });

  it("says so when the choice could only be kept on this device", async () => {
    mockCommands({
      session_state: ACTIVE,
      reader_status: "connected",
      roster: [],
      due_follow_ups: [],
      handoff_notes: [],
      set_my_language: () => reject("OFFLINE", "kept on this device only"),
    });
    render(HomeScreen);
    await userEvent.click(await screen.findByTestId("my-language-es"));
    // Shown in Spanish at once, and the note says (in Spanish) her account keeps its choice.
    expect(await screen.findByTestId("my-language-note")).toHaveTextContent("su cuenta conserva la elección anterior");
    expect(currentLanguage()).toBe("es");
  });
});

describe("HomeScreen", () => {
  it("shows who is signed in and locks on request", async () => {
    const calls = mockCommands({
      session_state: ACTIVE,
      reader_status: "connected",
      roster: [],
      due_follow_ups: [], handoff_notes: [],
      lock_now: { ...ACTIVE, phase: "locked" },
    });
    render(HomeScreen);
    expect(await screen.findByTestId("home-signed-in")).toHaveTextContent("Ada Nightingale");
    await userEvent.click(screen.getByTestId("home-lock"));
    await waitFor(() => expect(calls).toContain("lock_now"));
    expect(await screen.findByTestId("home-signed-out")).toBeInTheDocument();
  });

  it("signs out", async () => {
    const calls = mockCommands({
      session_state: ACTIVE,
      reader_status: "connected",
      roster: [],
      due_follow_ups: [], handoff_notes: [],
      logout: { phase: "signed_out", user: null, failure: null, idle_lock_ms: 120_000, offline: false },
    });
    render(HomeScreen);
    await userEvent.click(await screen.findByTestId("home-logout"));
    await waitFor(() => expect(calls).toContain("logout"));
  });

  it("lists the first residents by room, linking to each and to the whole list", async () => {
    const roster: RosterPatient[] = Array.from({ length: 9 }, (_, i) => ({
      id: i + 1,
      mrn: `MRN${i + 1}`,
      first_name: `Resident`,
      last_name: `${i + 1}`,
      date_of_birth: null,
      room: String(101 + i),
      status: i === 1 ? "on_leave" : "active",
      version: 1,
      ...NO_CARE_DETAILS,
    }));
    const calls = mockCommands({ session_state: ACTIVE, reader_status: "connected", roster, due_follow_ups: [], handoff_notes: [] });
    render(HomeScreen);
    const list = await screen.findByTestId("home-residents");
    const links = list.querySelectorAll("a");
    expect(links).toHaveLength(6);
    expect(links[0]).toHaveTextContent("101 Resident 1");
    expect(links[0]).toHaveAttribute("href", "#/patients/1");
    expect(links[1]).toHaveTextContent("On leave");
    expect(screen.getByTestId("home-all-residents")).toHaveAttribute("href", "#/patients");
    expect(screen.getByTestId("home-all-residents")).toHaveTextContent("See all 9 residents");
    expect(calls).toContain("roster");
  });

  it("says when the residents can't be loaded", async () => {
    mockCommands({ session_state: ACTIVE, reader_status: "connected", roster: reject("STORAGE_UNAVAILABLE", "EIO"), due_follow_ups: [], handoff_notes: [] });
    render(HomeScreen);
    expect(await screen.findByTestId("home-residents-error")).toHaveTextContent("can't read or save its data");
  });

  it("shows what is due soon beside the residents", async () => {
    mockCommands({ session_state: ACTIVE, reader_status: "connected", roster: [], due_follow_ups: [], handoff_notes: [] });
    render(HomeScreen);
    const card = await screen.findByTestId("due-soon");
    expect(await within(card).findByRole("heading", { name: "Nothing due" })).toBeInTheDocument();
  });
});

describe("HomeScreen in Spanish", () => {
  afterEach(() => {
    setDeviceLanguage("en");
    setTimeZone(null);
  });

  it("greets, dates the shift at the facility and names the actions in Spanish", async () => {
    setDeviceLanguage("es");
    setTimeZone("America/Chicago");
    mockCommands({ session_state: ACTIVE, reader_status: "connected", roster: [], due_follow_ups: [], handoff_notes: [] });
    render(HomeScreen);
    const signedIn = await screen.findByTestId("home-signed-in");
    expect(signedIn).toHaveTextContent("Sesión iniciada como Ada Nightingale (ada)");
    expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent(/^(Buenos días|Buenas tardes|Buenas noches), Ada Nightingale$/);
    const date = formatLongDate(new Date());
    expect(date).toMatch(/ de /);
    expect(screen.getByText(`${date}. Este es su turno de un vistazo.`)).toBeInTheDocument();
    expect(screen.getByTestId("home-lock")).toHaveTextContent("Bloquear");
    expect(screen.getByTestId("home-logout")).toHaveTextContent("Cerrar sesión");
    expect(await screen.findByText("Todavía no hay residentes en este dispositivo")).toBeInTheDocument();
  });
});
