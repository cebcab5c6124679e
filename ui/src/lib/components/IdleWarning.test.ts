import { render, screen } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { setDeviceLanguage } from "$lib/i18n/index.svelte";
import IdleWarning from "./IdleWarning.svelte";

describe("IdleWarning", () => {
  it("offers to stay signed in or lock now", async () => {
    const onstay = vi.fn();
    const onlock = vi.fn();
    render(IdleWarning, { onstay, onlock });
    expect(screen.getByRole("alertdialog", { name: "Still there?" })).toBeInTheDocument();
    await userEvent.click(screen.getByTestId("idle-stay"));
    await userEvent.click(screen.getByTestId("idle-lock"));
    expect(onstay).toHaveBeenCalledOnce();
    expect(onlock).toHaveBeenCalledOnce();
  });
});

describe("IdleWarning in Spanish", () => {
  afterEach(() => setDeviceLanguage("en"));

  it("asks and offers both choices in Spanish", () => {
    setDeviceLanguage("es");
    render(IdleWarning, { onstay: vi.fn(), onlock: vi.fn() });
    expect(screen.getByRole("alertdialog", { name: "¿Sigue ahí?" })).toBeInTheDocument();
    expect(screen.getByTestId("idle-stay")).toHaveTextContent("Sigo aquí");
    expect(screen.getByTestId("idle-lock")).toHaveTextContent("Bloquear ahora");
  });
});
