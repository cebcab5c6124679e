import { render, screen } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { setDeviceLanguage } from "$lib/i18n/index.svelte";
import LanguagePicker from "./LanguagePicker.svelte";

describe("LanguagePicker", () => {
  afterEach(() => setDeviceLanguage("en"));

  it("names each language in its own words under the given label, the current one chosen", () => {
    render(LanguagePicker, { label: "Language of this device", value: "en", onchange: vi.fn() });
    const group = screen.getByRole("group", { name: "Language of this device" });
    expect(group).toBeInTheDocument();
    expect(screen.getByRole("radio", { name: "English" })).toBeChecked();
    const spanish = screen.getByRole("radio", { name: "Español" });
    expect(spanish).not.toBeChecked();
    // Marked as Spanish, so a screen reader says it in Spanish.
    expect(spanish.closest("label")).toHaveAttribute("lang", "es");
    expect(screen.queryByTestId("language-none")).not.toBeInTheDocument();
  });

  it("tells the new choice, and nothing for the one already chosen", async () => {
    const onchange = vi.fn();
    render(LanguagePicker, { label: "Language", value: "en", onchange });
    await userEvent.click(screen.getByRole("radio", { name: "English" }));
    expect(onchange).not.toHaveBeenCalled();
    await userEvent.click(screen.getByRole("radio", { name: "Español" }));
    expect(onchange).toHaveBeenCalledExactlyOnceWith("es");
  });

  it("offers no language of one's own when asked to, as null", async () => {
    const onchange = vi.fn();
    render(LanguagePicker, { label: "My language", value: "es", onchange, noneLabel: "Same as this device", testid: "mine" });
    expect(screen.getByRole("radio", { name: "Español" })).toBeChecked();
    const none = screen.getByRole("radio", { name: "Same as this device" });
    expect(none).toHaveAttribute("data-testid", "mine-none");
    await userEvent.click(none);
    expect(onchange).toHaveBeenCalledExactlyOnceWith(null);
  });

  it("shows no preference chosen when the value is null", () => {
    render(LanguagePicker, { label: "My language", value: null, onchange: vi.fn(), noneLabel: "Same as this device" });
    expect(screen.getByRole("radio", { name: "Same as this device" })).toBeChecked();
    expect(screen.getByRole("radio", { name: "English" })).not.toBeChecked();
  });

  it("can be disabled while a choice is being saved", async () => {
    const onchange = vi.fn();
    render(LanguagePicker, { label: "Language", value: "en", onchange, disabled: true });
    expect(screen.getByRole("radio", { name: "Español" })).toBeDisabled();
    await userEvent.click(screen.getByRole("radio", { name: "Español" }));
    expect(onchange).not.toHaveBeenCalled();
  });

  it("keeps the languages' own names whatever the screen's language", () => {
    setDeviceLanguage("es");
    render(LanguagePicker, { label: "Idioma de este dispositivo", value: "es", onchange: vi.fn() });
    expect(screen.getByRole("radio", { name: "English" })).toBeInTheDocument();
    expect(screen.getByRole("radio", { name: "Español" })).toBeChecked();
  });
});
