// The JSON editor: says as you type whether the text parses, and where it does not.
// The server checks again on save; this only spares a round trip.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const area of document.querySelectorAll("textarea.gid-json-editor")) {
    const status = area.parentElement.querySelector(".gid-json-status");
    if (!status) continue;
    const check = () => {
      const text = area.value.trim();
      if (text === "") {
        status.textContent = "";
        area.removeAttribute("aria-invalid");
        return;
      }
      try {
        JSON.parse(text);
        status.textContent = "✓ " + status.dataset.valid;
        status.className = "gid-json-status gid-ok";
        area.removeAttribute("aria-invalid");
      } catch (error) {
        status.textContent = "✗ " + status.dataset.invalid + ": " + error.message;
        status.className = "gid-json-status gid-error";
        area.setAttribute("aria-invalid", "true");
      }
    };
    area.addEventListener("input", check);
    check();
  }
});
