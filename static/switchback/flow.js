// The Flow map: arrows and stubs inside the SVG are links with hx-get. htmx only
// cancels the default navigation of HTML anchors, so for SVG <a> we do it here,
// once htmx has taken the click; then mark the chosen arrow and move focus to
// the list it loaded. Without JavaScript the links open the list as a page.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    if (!window.htmx) return;
    var link = event.target.closest && event.target.closest(".flow-svg a[hx-get]");
    if (!link) return;
    event.preventDefault();
    document.querySelectorAll(".flow-svg a.selected").forEach(function (el) {
      el.classList.remove("selected");
    });
    link.classList.add("selected");
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id !== "arrow-panel") return;
    var section = event.target.querySelector(".arrow-tickets");
    if (section) {
      section.focus({ preventScroll: true });
      section.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  });
})();
