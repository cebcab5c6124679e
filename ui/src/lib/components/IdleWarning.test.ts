import { render, screen } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
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
