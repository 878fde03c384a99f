// Alert source admin: show each intake URL in full and copy it with one click.
// A static file, not inline script: the Content Security Policy allows only 'self'.
(function () {
  "use strict";
  function setUp() {
    document.querySelectorAll("code.intake-url[data-path]").forEach(function (code) {
      var url = window.location.origin + code.dataset.path;
      code.textContent = url;
      var button = code.parentElement.querySelector("button.intake-copy");
      if (!button || !navigator.clipboard) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(url).then(
          function () { button.textContent = "Copied"; },
          function () { button.textContent = "Copy failed: select the URL"; }
        );
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
