// The top bar's bell: a <details> that works without JavaScript (its panel
// links to the notifications page). With htmx, opening it loads the list into
// the panel (which marks itself read as it loads); Escape or a click outside
// closes it, and focus goes back to the bell.
(function () {
  "use strict";

  function setup() {
    var bell = document.getElementById("bell");
    if (!bell) return;
    var panel = document.getElementById("bell-panel");
    var summary = bell.querySelector("summary");

    bell.addEventListener("toggle", function () {
      if (bell.open && window.htmx) window.htmx.trigger(panel, "bell-open");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && bell.open) {
        bell.open = false;
        summary.focus();
      }
    });
    document.addEventListener("click", function (event) {
      if (bell.open && !bell.contains(event.target)) bell.open = false;
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
