// Pressing "/" anywhere but in a text field jumps to the search box, as on GitHub or MDN.
document.addEventListener("keydown", (event) => {
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
  const box = document.getElementById("search-input") || document.querySelector("[data-search-box]");
  if (!box) return;
  event.preventDefault();
  box.focus();
  box.select();
});
