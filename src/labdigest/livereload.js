// labdigest serve: reload the page when the site is rebuilt, and show build errors over
// the page until they are fixed. Served by the preview server only, never published.
"use strict";
(() => {
  const events = new EventSource("/__labdigest/events");
  let overlay = null;
  events.addEventListener("reload", () => window.location.reload());
  events.addEventListener("error-message", (event) => {
    const { message } = JSON.parse(event.data);
    if (!overlay) {
      overlay = document.createElement("div");
      overlay.id = "labdigest-build-error";
      overlay.setAttribute("role", "alert");
      // Styles are set through the CSSOM: the site's CSP allows no inline style attribute.
      Object.assign(overlay.style, {
        position: "fixed", inset: "auto 1rem 1rem 1rem", zIndex: "2147483647",
        background: "#2d0a0a", color: "#ffdede", border: "2px solid #ff7b72",
        borderRadius: "8px", padding: "1rem", font: "14px/1.5 ui-monospace, monospace",
        whiteSpace: "pre-wrap", maxHeight: "50vh", overflow: "auto",
      });
      document.body.append(overlay);
    }
    overlay.textContent = "Build failed; the last good site is shown.\n\n" + message;
  });
})();
