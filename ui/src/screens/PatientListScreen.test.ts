import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { tick } from "svelte";
import { afterEach, describe, expect, it } from "vitest";
import { setDeviceLanguage } from "$lib/i18n/index.svelte";
import { NO_CARE_DETAILS } from "../test/fixtures";
import type { RosterPatient } from "$lib/nurse-types";
import { mockCommands, reject } from "../test/ipc";
import PatientListScreen from "./PatientListScreen.svelte";

function patient(id: number, overrides: Partial<RosterPatient> = {}): RosterPatient {
  return {
    id,
    mrn: `MRN${String(id).padStart(5, "0")}`,
    first_name: `First${id}`,
    last_name: `Last${id}`,
    date_of_birth: "1940-01-15",
    room: String(100 + id),
    status: "active",
    version: 1,
    ...NO_CARE_DETAILS,
    ...overrides,
  };
}

const ROSTER: RosterPatient[] = [
  patient(1, { first_name: "Agnes", last_name: "Moore", room: "101" }),
  patient(2, { first_name: "Bertram", last_name: "Ng", room: "102", status: "on_leave" }),
  patient(3, { first_name: "Clara", last_name: "Oduya", room: "103A" }),
];

/** A roster command that filters like the vault does (name, room or MRN). */
function searching(all: RosterPatient[]) {
  const seen: string[] = [];
  const handler = (args: Record<string, unknown>): RosterPatient[] => {
    const term = String(args.search ?? "").toLowerCase();
    seen.push(term);
    return all.filter((p) => `${p.first_name} ${p.last_name} ${p.room} ${p.mrn}`.toLowerCase().includes(term));
  };
  return { handler, seen };
}

function rows(): HTMLElement[] {
  return screen.queryAllByRole("option");
}

describe("PatientListScreen", () => {
  it("lists residents by room with their age, MRN and status", async () => {
    mockCommands({ roster: ROSTER });
    render(PatientListScreen);
    expect(screen.getByText(/Opening the resident list/)).toBeInTheDocument();
    const list = await screen.findByRole("listbox", { name: "Residents, by room" });
    const options = within(list).getAllByRole("option");
    expect(options).toHaveLength(3);
    expect(options[0]).toHaveTextContent("Agnes Moore");
    expect(options[0]).toHaveTextContent("Room 101");
    expect(options[0]).toHaveTextContent("MRN MRN00001");
    expect(options[0]).toHaveTextContent(/\d+ years/);
    expect(options[1]).toHaveTextContent("On leave");
    expect(screen.getByTestId("patient-count")).toHaveTextContent("3 residents");
  });

  it("searches as the nurse types", async () => {
    const { handler, seen } = searching(ROSTER);
    mockCommands({ roster: handler });
    render(PatientListScreen);
    await screen.findByRole("listbox");
    await userEvent.type(screen.getByLabelText("Search residents"), "clara");
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(rows()[0]).toHaveTextContent("Clara Oduya");
    expect(screen.getByTestId("patient-count")).toHaveTextContent("1 resident matching “clara”");
    // Debounced: not one vault query per keystroke.
    await waitFor(() => expect(seen[seen.length - 1]).toBe("clara"));
    expect(seen.length).toBeLessThan(6);
  });

  it("shows the vault's answer once it arrives, over the on-screen narrowing", async () => {
    // The vault knows matches the screen can't guess (here: anything for a non-empty search).
    mockCommands({ roster: (args: Record<string, unknown>) => (args.search === "" ? ROSTER : [ROSTER[2]]) });
    render(PatientListScreen);
    await screen.findByRole("listbox");
    await userEvent.type(screen.getByLabelText("Search residents"), "oduya-c");
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(rows()[0]).toHaveTextContent("Clara Oduya");
  });

  it("filters by status", async () => {
    mockCommands({ roster: ROSTER });
    render(PatientListScreen);
    await screen.findByRole("listbox");
    await userEvent.click(screen.getByLabelText("On leave"));
    expect(rows()).toHaveLength(1);
    expect(rows()[0]).toHaveTextContent("Bertram Ng");
    await userEvent.click(screen.getByLabelText("In the facility"));
    expect(rows().map((row) => row.dataset.patientId)).toEqual(["1", "3"]);
    await userEvent.click(screen.getByLabelText("All"));
    expect(rows()).toHaveLength(3);
  });

  it("renders only a window of rows for 2000 residents, and follows the scroll", async () => {
    const many = Array.from({ length: 2000 }, (_, i) => patient(i + 1));
    mockCommands({ roster: many });
    render(PatientListScreen);
    const list = await screen.findByRole("listbox");
    expect(list).toHaveAttribute("data-count", "2000");
    expect(rows().length).toBeGreaterThan(5);
    expect(rows().length).toBeLessThan(40);
    expect(rows()[0]).toHaveAttribute("aria-setsize", "2000");
    expect(rows()[0]).toHaveAttribute("aria-posinset", "1");

    // Scroll to row 1000 (rows are 4.5rem = 72 px at the default 16 px).
    Object.defineProperty(list, "scrollTop", { configurable: true, value: 1000 * 72 });
    await fireEvent.scroll(list);
    const ids = rows().map((row) => Number(row.dataset.patientId));
    expect(ids).toContain(1001);
    expect(ids).not.toContain(1);
    expect(rows().length).toBeLessThan(40);
  });

  it("moves through the list with the keyboard and opens a resident with Enter", async () => {
    const many = Array.from({ length: 2000 }, (_, i) => patient(i + 1));
    mockCommands({ roster: many });
    render(PatientListScreen);
    const list = await screen.findByRole("listbox");

    // ↓ in the search box hands the keyboard to the list.
    screen.getByLabelText("Search residents").focus();
    await userEvent.keyboard("{ArrowDown}");
    expect(list).toHaveFocus();
    const active = (): HTMLElement => document.getElementById(list.getAttribute("aria-activedescendant") ?? "")!;
    expect(active()).toHaveAttribute("data-patient-id", "1");
    expect(active()).toHaveAttribute("aria-selected", "true");

    await userEvent.keyboard("{ArrowDown}{ArrowDown}");
    expect(active()).toHaveAttribute("data-patient-id", "3");
    await userEvent.keyboard("{ArrowUp}");
    expect(active()).toHaveAttribute("data-patient-id", "2");

    // End jumps to the last resident, rendering that end of the list.
    await userEvent.keyboard("{End}");
    expect(active()).toHaveAttribute("data-patient-id", "2000");
    expect(rows().length).toBeLessThan(40);
    await userEvent.keyboard("{Home}");
    expect(active()).toHaveAttribute("data-patient-id", "1");

    await userEvent.keyboard("{ArrowDown}{Enter}");
    expect(window.location.hash).toBe("#/patients/2");
  });

  it("opens a resident on click or tap", async () => {
    mockCommands({ roster: ROSTER });
    render(PatientListScreen);
    await screen.findByRole("listbox");
    await userEvent.click(screen.getByText("Clara Oduya"));
    expect(window.location.hash).toBe("#/patients/3");
  });

  it("explains an empty device and an empty search", async () => {
    const { handler } = searching([]);
    mockCommands({ roster: handler });
    render(PatientListScreen);
    expect(await screen.findByRole("heading", { name: "No residents on this device yet" })).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText("Search residents"), "zed");
    expect(await screen.findByRole("heading", { name: "No one matches" })).toBeInTheDocument();
    expect(screen.getByText(/Nobody matches “zed”/)).toBeInTheDocument();
  });

  it("says when the list can't be opened, and tries again", async () => {
    let fail = true;
    mockCommands({ roster: () => (fail ? reject("STORAGE_UNAVAILABLE", "disk I/O error") : ROSTER) });
    render(PatientListScreen);
    const alert = await screen.findByTestId("patient-list-error");
    expect(alert).toHaveTextContent("The resident list couldn't be opened");
    expect(alert).toHaveTextContent("can't read or save its data");
    expect(alert).not.toHaveTextContent("disk I/O");
    fail = false;
    await userEvent.click(within(alert).getByRole("button", { name: "Try again" }));
    expect(await screen.findByRole("listbox")).toBeInTheDocument();
  });

  it("narrows the list on screen at once, before the vault's answer arrives", async () => {
    const seen: string[] = [];
    mockCommands({
      roster: (args: Record<string, unknown>) => {
        seen.push(String(args.search));
        // Only the first, empty search is answered; later ones stay on their way.
        return args.search === "" ? ROSTER : new Promise(() => undefined);
      },
    });
    render(PatientListScreen);
    await screen.findByRole("listbox");
    await userEvent.type(screen.getByLabelText("Search residents"), "103");
    expect(rows()).toHaveLength(1);
    expect(rows()[0]).toHaveTextContent("Clara Oduya");
    expect(screen.getByTestId("patient-count")).toHaveTextContent("1 resident matching “103”");
    await userEvent.clear(screen.getByLabelText("Search residents"));
    await userEvent.type(screen.getByLabelText("Search residents"), "moore agnes");
    expect(rows()).toHaveLength(1);
    expect(rows()[0]).toHaveTextContent("Agnes Moore");
    await waitFor(() => expect(seen).toContain("moore agnes"));
  });
});

describe("PatientListScreen in Spanish", () => {
  afterEach(() => setDeviceLanguage("en"));

  it("shows the heading, the count with its plural, rooms and statuses in Spanish", async () => {
    setDeviceLanguage("es");
    mockCommands({ roster: searching(ROSTER).handler });
    render(PatientListScreen);
    expect(screen.getByText(/Abriendo la lista de residentes/)).toBeInTheDocument();
    const list = await screen.findByRole("listbox", { name: "Residentes, por habitación" });
    expect(screen.getByRole("heading", { level: 1, name: "Residentes" })).toBeInTheDocument();
    expect(screen.getByTestId("patient-count")).toHaveTextContent("3 residentes");
    const options = within(list).getAllByRole("option");
    expect(options[0]).toHaveTextContent("Habitación 101");
    expect(options[0]).toHaveTextContent(/\d+ años ·/);
    expect(options[1]).toHaveTextContent("De permiso");
    expect(screen.getByRole("radio", { name: "En el centro" })).toBeInTheDocument();

    await userEvent.type(screen.getByLabelText("Buscar residentes"), "clara");
    await waitFor(() => expect(screen.getByTestId("patient-count")).toHaveTextContent("1 residente coincide con «clara»"));
    await userEvent.clear(screen.getByLabelText("Buscar residentes"));
    await userEvent.type(screen.getByLabelText("Buscar residentes"), "zed");
    expect(await screen.findByRole("heading", { name: "Nadie coincide" })).toBeInTheDocument();
    expect(screen.getByText(/Nadie coincide con «zed»\./)).toBeInTheDocument();
  });

  it("changes language while it is open, status words included", async () => {
    mockCommands({ roster: ROSTER });
    render(PatientListScreen);
    const list = await screen.findByRole("listbox", { name: "Residents, by room" });
    expect(within(list).getAllByRole("option")[1]).toHaveTextContent("On leave");
    setDeviceLanguage("es");
    await tick();
    expect(within(list).getAllByRole("option")[1]).toHaveTextContent("De permiso");
    expect(screen.getByTestId("patient-count")).toHaveTextContent("3 residentes");
    expect(screen.getByRole("radio", { name: "De permiso" })).toBeInTheDocument();
  });
});
