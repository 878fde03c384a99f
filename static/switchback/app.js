/* Switchback in the browser: countdowns, drag and drop, keyboard moves, the
 * move dialog and the ticket drawer. Plain JavaScript on top of htmx 2.
 *
 * Everything here is an enhancement: each card also carries a plain form
 * (form.card-move) and every button or link works without JavaScript. The
 * server stays the source of truth: after a move it sends the cards that
 * changed since the page was drawn (or, after a conflict or too many
 * changes, the board's columns again), so a card dropped in the wrong place
 * goes back to where it really is.
 */
(function () {
  "use strict";

  document.documentElement.classList.remove("no-js");
  document.documentElement.classList.add("js");

  // --- Countdowns --------------------------------------------------------------
  // The server sends each deadline once (data-deadline, ISO 8601) and when its
  // warning stretch begins (data-warn-from). The browser counts down from
  // them: no request per second. The words are board_tags.format_span's.

  var ICONS = { ok: "◷", warning: "⚠", overdue: "✖" };
  var skew = 0; // server clock minus browser clock, ms

  function readSkew() {
    var el = document.querySelector("[data-server-now]");
    if (!el) return;
    var serverNow = Date.parse(el.getAttribute("data-server-now"));
    if (!isNaN(serverNow)) skew = serverNow - Date.now();
  }

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  // "13 min", "1 h 05 min", "2 d 3 h": words, never a clock time. Minutes
  // round up while time is left. The same as board_tags.format_span
  // (tests/e2e/test_countdown.py compares the two).
  function formatSpan(seconds) {
    var total = Math.floor(Math.abs(seconds));
    if (total < 60) return "under 1 min";
    var minutesTotal = seconds > 0 ? Math.ceil(total / 60) : Math.floor(total / 60);
    var days = Math.floor(minutesTotal / 1440);
    var hours = Math.floor((minutesTotal % 1440) / 60);
    var minutes = minutesTotal % 60;
    if (days) return days + " d " + hours + " h";
    if (hours) return hours + " h " + pad(minutes) + " min";
    return minutes + " min";
  }
  window.switchbackFormatSpan = formatSpan;

  function tick() {
    var now = Date.now() + skew;
    var nodes = document.querySelectorAll(".countdown[data-deadline]");
    for (var i = 0; i < nodes.length; i++) {
      var el = nodes[i];
      var deadline = Date.parse(el.getAttribute("data-deadline"));
      if (isNaN(deadline)) continue;
      var remaining = (deadline - now) / 1000;
      // The server says when the warning stretch begins (board_tags.warning_lead).
      var warnFrom = Date.parse(el.getAttribute("data-warn-from") || "");
      var state = remaining <= 0 ? "overdue" : !isNaN(warnFrom) && now >= warnFrom ? "warning" : "ok";
      var text = ICONS[state] + " " + (state === "overdue" ? "Overdue by " + formatSpan(remaining) : formatSpan(remaining) + " left");
      if (el.textContent !== text) el.textContent = text;
      if (!el.classList.contains(state)) {
        el.classList.remove("ok", "warning", "overdue");
        el.classList.add(state);
      }
    }
  }

  // --- Helpers -----------------------------------------------------------------

  function columnsEl() {
    return document.getElementById("board-columns");
  }

  function cardOf(node) {
    return node && node.closest ? node.closest("article.card") : null;
  }

  function drawerTicketId() {
    var body = document.querySelector("#drawer .drawer-body[data-ticket-id]");
    return body ? body.getAttribute("data-ticket-id") : null;
  }

  function markOpenCard() {
    var id = drawerTicketId();
    var cards = document.querySelectorAll("article.card.is-open");
    for (var i = 0; i < cards.length; i++) cards[i].classList.remove("is-open");
    if (id) {
      var card = document.getElementById("ticket-" + id);
      if (card) card.classList.add("is-open");
    }
  }

  function refreshColumnsNow() {
    // Ask for the whole columns whatever the revision: used when a move
    // failed after the card was already shown in its new place (no revision
    // matches -1, and columns "drawn" at 0 are redrawn whole).
    var poll = document.getElementById("board-poll");
    if (!poll || !window.htmx) return;
    var url = poll.getAttribute("hx-get").replace(/([?&])since=[^&]*/, "$1since=-1").replace(/([?&])drawn=[^&]*/, "$1drawn=0");
    htmx.ajax("GET", url, { target: "#board-columns", swap: "outerHTML", source: poll });
  }

  // Cards sort by priority, then deadline (none last), then number (the server's
  // rule: boards.models.URGENCY); the done
  // column shows the latest first. Used to place a card the browser moved.
  function sortKey(card) {
    var deadline = card.querySelector(".countdown[data-deadline]");
    var when = deadline ? Date.parse(deadline.getAttribute("data-deadline")) : Infinity;
    var prio = /\bp(\d)\b/.exec(card.className);
    return [prio ? Number(prio[1]) : 3, isNaN(when) ? Infinity : when, Number(card.getAttribute("data-ticket-id"))];
  }

  function before(a, b) {
    for (var i = 0; i < a.length; i++) {
      if (a[i] !== b[i]) return a[i] < b[i];
    }
    return false;
  }

  function placeCard(card, section) {
    var list = section.querySelector("ol.cards");
    var item = card.closest("li") || card;
    var empty = list.querySelector(".empty-column");
    if (empty) empty.remove();
    if (section.classList.contains("cat-done")) {
      list.insertBefore(item, list.firstElementChild);
    } else {
      var key = sortKey(card);
      var next = null;
      var cards = list.querySelectorAll("article.card");
      for (var i = 0; i < cards.length; i++) {
        if (cards[i] !== card && before(key, sortKey(cards[i]))) {
          next = cards[i].closest("li");
          break;
        }
      }
      if (next !== item) list.insertBefore(item, next);
    }
    recount();
  }

  // A column left with no card says so, as the server draws it.
  function markEmpty() {
    var lists = document.querySelectorAll("#board-columns ol.cards");
    var text = document.querySelector(".clear-filters") ? "No matching cards" : "No cards";
    for (var i = 0; i < lists.length; i++) {
      if (lists[i].querySelector("article.card, .empty-column")) continue;
      lists[i].replaceChildren();
      var li = document.createElement("li");
      li.className = "empty-column";
      li.textContent = text;
      lists[i].appendChild(li);
    }
  }

  // The poll and a move answer name the cards that left the board (or no
  // longer match its filters) since the page was drawn: take them off.
  function removeGone(poll) {
    var ids = (poll.getAttribute("data-gone") || "").split(" ");
    var removed = false;
    for (var i = 0; i < ids.length; i++) {
      var card = ids[i] && document.getElementById("ticket-" + ids[i]);
      if (card && card.matches("article.card")) {
        (card.closest("li") || card).remove();
        removed = true;
      }
    }
    if (removed) {
      markEmpty();
      recount();
    }
  }

  function recount() {
    var sections = document.querySelectorAll("#board-columns section.column");
    for (var i = 0; i < sections.length; i++) {
      var n = sections[i].querySelectorAll("article.card").length;
      var counter = sections[i].querySelector(".column-count .n");
      if (counter) counter.textContent = String(n);
      var limit = Number(sections[i].getAttribute("data-wip-limit") || 0);
      sections[i].classList.toggle("over-limit", limit > 0 && n > limit);
    }
  }

  // --- Moving a card -------------------------------------------------------------

  function moveToColumn(card, section) {
    var from = card.closest("section.column");
    var form = card.querySelector("form.card-move");
    if (!form || !section || section === from) return;
    form.elements.column.value = section.getAttribute("data-column-id");
    if (form.requestSubmit) form.requestSubmit();
    else form.submit();
  }

  function openMoveDialogFor(card, boardSlug) {
    var link = card.querySelector("a.card-title");
    if (!link || !window.htmx) return;
    var url = link.getAttribute("href") + "transfer/?to=" + encodeURIComponent(boardSlug);
    htmx.ajax("GET", url, { target: "#dialog-slot", swap: "innerHTML", source: card });
  }

  // --- Drag and drop (HTML5) -----------------------------------------------------

  var dragging = null;
  var dropTarget = null;

  function setDropTarget(zone) {
    if (dropTarget === zone) return;
    if (dropTarget) dropTarget.classList.remove("drop-target");
    dropTarget = zone;
    if (zone) zone.classList.add("drop-target");
  }

  function endDrag() {
    if (dragging) dragging.classList.remove("dragging");
    dragging = null;
    setDropTarget(null);
    document.body.classList.remove("is-dragging");
  }

  function dropZone(node) {
    if (!node || !node.closest) return null;
    return node.closest("#board-columns section.column") || node.closest(".board-tabs a[data-board-slug]:not(.current)");
  }

  // A card on a board the user doesn't work can't be dragged: say so at the
  // first press-and-move on it, rather than leave the browser selecting text.
  var readonlyPress = null;

  document.addEventListener("pointerdown", function (e) {
    var card = cardOf(e.target);
    readonlyPress = card && card.getAttribute("data-readonly") === "true" && !e.target.closest("a, button, input, select, textarea") ? { x: e.clientX, y: e.clientY } : null;
  });

  document.addEventListener("pointermove", function (e) {
    if (!readonlyPress || Math.abs(e.clientX - readonlyPress.x) + Math.abs(e.clientY - readonlyPress.y) < 6) return;
    readonlyPress = null;
    var cols = columnsEl();
    showMessage((cols && cols.getAttribute("data-readonly-message")) || "You can't move this card.", "warning");
    var note = document.getElementById("readonly-note");
    if (note) {
      note.classList.remove("flash");
      void note.offsetWidth; // restart the animation
      note.classList.add("flash");
    }
  });

  document.addEventListener("pointerup", function () {
    readonlyPress = null;
  });

  document.addEventListener("dragstart", function (e) {
    var card = cardOf(e.target);
    if (!card || card.getAttribute("draggable") !== "true") return;
    dragging = card;
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", card.getAttribute("data-ticket-id"));
    card.classList.add("dragging");
    document.body.classList.add("is-dragging");
  });

  document.addEventListener("dragover", function (e) {
    if (!dragging) return;
    var zone = dropZone(e.target);
    setDropTarget(zone);
    if (!zone) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "move";
  });

  document.addEventListener("drop", function (e) {
    if (!dragging) return;
    var zone = dropZone(e.target);
    var card = dragging;
    endDrag();
    if (!zone) return;
    e.preventDefault();
    if (zone.matches("section.column")) moveToColumn(card, zone);
    else openMoveDialogFor(card, zone.getAttribute("data-board-slug"));
  });

  document.addEventListener("dragend", endDrag);

  // --- Keyboard ------------------------------------------------------------------
  // On a focused card: Shift+Arrow Right/Left moves it to the next/previous
  // column; arrows without Shift move the focus; Enter opens the drawer.

  function columnList() {
    return Array.prototype.slice.call(document.querySelectorAll("#board-columns section.column"));
  }

  function cardsIn(section) {
    return Array.prototype.slice.call(section.querySelectorAll("article.card"));
  }

  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") {
      if (document.querySelector("dialog#move-dialog")) return; // the dialog handles its own Escape
      if (e.target.closest && e.target.closest("input, textarea, select")) return; // keep a half-written note
      var drawer = document.getElementById("drawer");
      if (drawer && drawer.firstElementChild && !drawer.classList.contains("drawer-page")) closeDrawer();
      return;
    }
    var card = cardOf(e.target);
    if (!card || e.target !== card || e.altKey || e.ctrlKey || e.metaKey) return;
    var columns = columnList();
    var column = card.closest("section.column");
    var index = columns.indexOf(column);
    if (e.shiftKey && (e.key === "ArrowRight" || e.key === "ArrowLeft")) {
      e.preventDefault();
      if (card.getAttribute("draggable") !== "true") return;
      var next = columns[index + (e.key === "ArrowRight" ? 1 : -1)];
      if (next) {
        moveToColumn(card, next);
        card.focus({ preventScroll: false });
      }
    } else if (!e.shiftKey && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      e.preventDefault();
      var cards = cardsIn(column);
      var target = cards[cards.indexOf(card) + (e.key === "ArrowDown" ? 1 : -1)];
      if (target) target.focus();
    } else if (!e.shiftKey && (e.key === "ArrowRight" || e.key === "ArrowLeft")) {
      // Arrows alone never leave the card: jumping to another column's card
      // looked like a move. Say how to move instead.
      e.preventDefault();
      if (card.getAttribute("draggable") === "true") showMessage("To move the card, hold Shift: Shift+" + (e.key === "ArrowRight" ? "→" : "←") + ".", "info");
    } else if (e.key === "Enter") {
      var link = card.querySelector("a.card-title");
      if (link) {
        e.preventDefault();
        link.click();
      }
    }
  });

  // --- Drawer ----------------------------------------------------------------------

  var drawerOpener = null;

  function closeDrawer() {
    var drawer = document.getElementById("drawer");
    if (!drawer) return;
    drawer.innerHTML = "";
    markOpenCard();
    var back = drawerOpener && document.getElementById(drawerOpener);
    if (back) back.focus();
  }

  document.addEventListener("click", function (e) {
    var close = e.target.closest && e.target.closest("[data-drawer-close]");
    if (close && !close.closest(".drawer-page")) {
      e.preventDefault();
      closeDrawer();
      return;
    }
    var dialogClose = e.target.closest && e.target.closest("[data-dialog-close]");
    var dialog = dialogClose && dialogClose.closest("dialog");
    if (dialog && document.querySelector("#dialog-slot") && document.querySelector("#dialog-slot").contains(dialog)) {
      e.preventDefault();
      dialog.close();
      return;
    }
    if (e.target.matches && e.target.matches("dialog#move-dialog")) {
      e.target.close(); // a click on the backdrop
      return;
    }
    var message = e.target.closest && e.target.closest("#messages .message");
    if (message) message.remove();
    var title = e.target.closest && e.target.closest("a.card-title");
    if (title) {
      var card = cardOf(title);
      drawerOpener = card ? card.id : null;
    }
  });

  // --- Dialog ------------------------------------------------------------------------

  function showDialog() {
    var dialog = document.querySelector("#dialog-slot dialog#move-dialog");
    if (!dialog || dialog.getAttribute("data-ready")) return;
    dialog.setAttribute("data-ready", "1");
    if (dialog.showModal && !dialog.matches(":modal")) {
      dialog.close();
      dialog.showModal();
    }
    dialog.addEventListener("close", function () {
      // close() above queues a close event too; by then the dialog is open again.
      if (!dialog.open) dialog.remove();
    });
    var focus = dialog.querySelector("input[name=criterion]:checked") || dialog.querySelector("input[name=criterion]") || dialog.querySelector("[data-dialog-close]");
    if (focus) focus.focus();
  }

  // --- htmx wiring -------------------------------------------------------------------

  var pendingWrites = 0;
  var focusCardId = null;

  document.addEventListener("htmx:configRequest", function (e) {
    // Lets the server refresh the drawer when an action changes its ticket,
    // and answer a move with just the card when this page is up to date.
    var id = drawerTicketId();
    if (id) e.detail.headers["X-Drawer-Ticket"] = id;
    var poll = document.getElementById("board-poll");
    if (poll) {
      e.detail.headers["X-Board-Revision"] = poll.getAttribute("data-revision");
      e.detail.headers["X-Board-Seen"] = poll.getAttribute("data-seen");
      e.detail.headers["X-Board-Drawn"] = poll.getAttribute("data-drawn");
    }
  });

  // Every move (drag, keyboard, or the card's own select and Move button)
  // shows the card in its new column at once; the answer confirms it, or
  // redraws the board as it truly is.
  document.addEventListener(
    "submit",
    function (e) {
      var form = e.target;
      if (!form.matches || !form.matches("form.card-move")) return;
      var card = cardOf(form);
      var section = document.querySelector('#board-columns section.column[data-column-id="' + form.elements.column.value + '"]');
      if (card && section && section !== card.closest("section.column")) {
        // Moving the card's node drops the focus to <body>; keep it on the card
        // (the select + Move path too), and again after the answer swaps it.
        placeCard(card, section);
        card.focus();
        focusCardId = card.id;
      }
    },
    true
  );

  var lastWriteDone = 0;

  document.addEventListener("htmx:beforeRequest", function (e) {
    if (e.detail.xhr) e.detail.xhr.switchbackStarted = Date.now();
    if (e.detail.requestConfig && e.detail.requestConfig.verb !== "get") pendingWrites++;
  });

  document.addEventListener("htmx:afterRequest", function (e) {
    if (e.detail.requestConfig && e.detail.requestConfig.verb !== "get") {
      pendingWrites = Math.max(0, pendingWrites - 1);
      lastWriteDone = Date.now();
    }
  });

  // A swap of the columns keeps where each column was scrolled to.
  var savedScroll = null;

  function rememberScroll(target) {
    if (!target || target.id !== "board-columns") return;
    savedScroll = { left: target.scrollLeft, lists: {} };
    var lists = target.querySelectorAll("section.column");
    for (var i = 0; i < lists.length; i++) {
      var ol = lists[i].querySelector("ol.cards");
      if (ol) savedScroll.lists[lists[i].getAttribute("data-column-id")] = ol.scrollTop;
    }
  }

  function restoreScroll(target) {
    if (!target || target.id !== "board-columns" || !savedScroll) return;
    target.scrollLeft = savedScroll.left;
    var lists = target.querySelectorAll("section.column");
    for (var i = 0; i < lists.length; i++) {
      var top = savedScroll.lists[lists[i].getAttribute("data-column-id")];
      var ol = lists[i].querySelector("ol.cards");
      if (ol && top) ol.scrollTop = top;
    }
    savedScroll = null;
  }

  function rememberFocus(target) {
    if (!target || (target.id !== "board-columns" && !(target.matches && target.matches("article.card")))) return;
    var card = cardOf(document.activeElement);
    focusCardId = card && target.contains(card) ? card.id : null;
  }

  function restoreFocus(target) {
    if (!target || !focusCardId) return;
    var card = document.getElementById(focusCardId);
    focusCardId = null;
    if (card) card.focus({ preventScroll: true });
  }

  document.addEventListener("htmx:beforeSwap", function (e) {
    var xhr = e.detail.xhr;
    if (xhr && xhr.responseURL && /\/login\/$/.test(new URL(xhr.responseURL).pathname)) {
      // The session ended: show the login page rather than swap it into the board.
      e.detail.shouldSwap = false;
      window.location.reload();
      return;
    }
    if (e.detail.target && e.detail.target.id === "drawer") keepNote();
    if (xhr && xhr.status >= 400 && xhr.getResponseHeader("X-Switchback-Error") === "inline") {
      // The server's own words for an error (helpdesk/errors.py), already
      // aimed at the drawer or the message bar: show them in place.
      e.detail.shouldSwap = true;
      return;
    }
    var target = e.detail.target;
    if (target && target.id === "board-columns") {
      // A poll must not pull the card from under a drag or a move in flight;
      // the next poll (or the move's own answer) brings the change.
      var cardControlFocused = document.activeElement && document.activeElement.closest && document.activeElement.closest("form.card-move select");
      // A poll sent before our last move was answered may show the board
      // from before it: drop it, the next poll asks again.
      var stale = xhr && xhr.switchbackStarted && xhr.switchbackStarted < lastWriteDone;
      if (dragging || pendingWrites > 0 || cardControlFocused || stale) {
        e.detail.shouldSwap = false;
        return;
      }
      rememberFocus(target);
      rememberScroll(target);
    }
  });

  // Cards arriving on their own (boards/views.py _changes_html) are appended
  // to their column's list: drop the page's copy first (it may sit in another
  // column), then put each in card order once it is in (afterSwap).
  var arriving = [];

  document.addEventListener("htmx:oobBeforeSwap", function (e) {
    var target = e.detail.target;
    if (target && target.matches && target.matches("ol.cards") && e.detail.fragment && e.detail.fragment.querySelectorAll) {
      var incoming = e.detail.fragment.querySelectorAll("article.card[id]");
      for (var i = 0; i < incoming.length; i++) {
        var old = document.getElementById(incoming[i].id);
        if (old) {
          if (old.contains(document.activeElement)) focusCardId = old.id;
          (old.closest("li") || old).remove();
        }
        arriving.push(incoming[i].id);
      }
    }
    rememberFocus(e.detail.target);
    rememberScroll(e.detail.target);
    if (e.detail.target && e.detail.target.id === "drawer") keepNote();
  });

  function afterSwap(target) {
    if (!target) return;
    if (target.matches && target.matches("ol.cards")) {
      if (!arriving.length) return;
      var ids = arriving;
      arriving = [];
      for (var i = 0; i < ids.length; i++) {
        var card = document.getElementById(ids[i]);
        var section = card && card.closest("section.column");
        if (!section) continue;
        placeCard(card, section);
        // htmx wires swapped content up when it settles, a moment later; a
        // keypress on the card before then would post its form without htmx
        // (a full page load). Wire it up now (htmx skips it when settling).
        if (window.htmx) htmx.process(card);
      }
      markEmpty();
      restoreFocus(target);
      markOpenCard();
      tick();
    } else if (target.matches && target.matches("article.card")) {
      // A card sent back after a move: put it where its column and sort order say.
      var section = document.querySelector('#board-columns section.column[data-column-id="' + target.getAttribute("data-column-id") + '"]');
      if (section) placeCard(target, section);
      restoreFocus(target);
      markOpenCard();
      tick();
    } else if (target.id === "board-poll") {
      removeGone(target);
      var cols = columnsEl();
      if (cols) cols.setAttribute("data-revision", target.getAttribute("data-revision"));
    } else if (target.id === "board-columns") {
      readSkew();
      restoreScroll(target);
      restoreFocus(target);
      markOpenCard();
      tick();
    } else if (target.id === "drawer") {
      restoreNote();
      markOpenCard();
      tick();
    } else if (target.id === "dialog-slot") {
      showDialog();
    }
  }

  document.addEventListener("htmx:afterSwap", function (e) {
    // After outerHTML the old target is gone; look the new one up by id.
    var target = e.detail.target;
    var fresh = target && target.id ? document.getElementById(target.id) : target;
    afterSwap(fresh);
    if (fresh && fresh.id === "drawer" && e.detail.requestConfig && e.detail.requestConfig.verb === "get") {
      var body = fresh.querySelector(".drawer-body");
      if (body) body.focus({ preventScroll: true });
    }
  });

  document.addEventListener("htmx:oobAfterSwap", function (e) {
    var target = e.detail.target;
    afterSwap(target && target.id ? document.getElementById(target.id) : target);
  });

  document.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail.xhr;
    var status = xhr ? xhr.status : 0;
    var shown = xhr && xhr.getResponseHeader("X-Switchback-Error") === "inline";
    var text =
      status === 403
        ? "You can't do that on this board."
        : status === 404
          ? "That ticket is not on your boards."
          : status === 429
            ? "Too many tries. Wait a few minutes and try again."
            : "Something went wrong (" + status + "). Reload the page and try again.";
    if (!shown) showMessage(text, "error");
    if (e.detail.requestConfig && e.detail.requestConfig.verb !== "get") {
      setTimeout(refreshColumnsNow, 0);
      // A write from the drawer refused (the ticket left the user's boards):
      // redraw the drawer as it now is; a typed note is kept (keepNote).
      var elt = e.detail.elt;
      if (elt && elt.closest && elt.closest("#drawer") && !elt.closest(".drawer-page")) {
        keepNote();
        refreshDrawer();
      }
    }
  });

  document.addEventListener("htmx:sendError", function (e) {
    if (e.detail.requestConfig && e.detail.requestConfig.verb === "get" && e.detail.target && e.detail.target.id === "board-columns") return; // polls retry by themselves
    showMessage("Can't reach Switchback. Check the connection and try again.", "error");
  });

  function showMessage(text, kind) {
    var box = document.getElementById("messages");
    if (!box) return;
    var p = document.createElement("p");
    p.className = "message " + kind;
    p.textContent = text;
    box.replaceChildren(p);
    scheduleDismiss();
  }

  // --- Messages: success and info fade after a few seconds; warnings and
  // errors stay until clicked (they say something went differently). -------

  var MESSAGE_MS = 6000;

  function scheduleDismiss() {
    var items = document.querySelectorAll("#messages .message:not([data-timed])");
    for (var i = 0; i < items.length; i++) {
      var item = items[i];
      item.setAttribute("data-timed", "1");
      item.setAttribute("title", "Click to dismiss");
      if (item.classList.contains("success") || item.classList.contains("info")) {
        setTimeout(item.remove.bind(item), MESSAGE_MS);
      }
    }
  }

  // --- A drawer that went stale, and the note being typed in it -------------------
  // When the board shows that the drawer's ticket changed (moved by a
  // colleague or the scheduler, or gone from the board), the drawer redraws
  // itself. Whatever was typed in its note survives any redraw: put back in
  // the new note box, or, when the user can no longer add notes (the ticket
  // left their boards), kept in a box to copy, with the reason.

  var keptNote = null; // {ticket: id, text: "..."}

  function drawerNoteText() {
    // The note box, or a kept note already shown (a second redraw keeps it too).
    var box = document.querySelector("#drawer textarea[name=body]") || document.querySelector("#drawer .kept-note textarea");
    return box ? box.value : "";
  }

  var answerSavedNote = false; // the response being handled is the one that saved the note

  document.addEventListener("htmx:beforeOnLoad", function (e) {
    var xhr = e.detail.xhr;
    answerSavedNote = !!(xhr && xhr.getResponseHeader("X-Switchback-Note-Saved"));
  });

  function keepNote() {
    var kept = document.querySelector("#drawer .kept-note[data-ticket-id]");
    var id = drawerTicketId() || (kept && kept.getAttribute("data-ticket-id"));
    var text = drawerNoteText();
    var saved = answerSavedNote;
    if (id && text.trim() && !saved) keptNote = { ticket: id, text: text };
    else if (saved) keptNote = null;
  }

  function restoreNote() {
    if (!keptNote) return;
    var drawer = document.getElementById("drawer");
    if (!drawer || drawer.classList.contains("drawer-page")) return;
    var box = drawer.querySelector("textarea[name=body]");
    if (box && drawerTicketId() === keptNote.ticket) {
      if (!box.value) box.value = keptNote.text;
      keptNote = null;
      return;
    }
    var kept = document.createElement("div");
    kept.className = "kept-note";
    kept.setAttribute("data-ticket-id", keptNote.ticket);
    kept.setAttribute("role", "alert");
    var p = document.createElement("p");
    p.textContent = "Your note on #" + keptNote.ticket + " was not added: the ticket is no longer on a board you work. Copy it before you close this.";
    var area = document.createElement("textarea");
    area.readOnly = true;
    area.rows = 4;
    area.value = keptNote.text;
    kept.append(p, area);
    var body = drawer.querySelector(".drawer-body");
    if (body) body.insertBefore(kept, body.children[1] || null);
    else {
      var wrap = document.createElement("div");
      wrap.className = "drawer-body";
      var head = document.createElement("header");
      head.className = "drawer-head";
      var close = document.createElement("a");
      close.className = "drawer-close";
      close.href = location.pathname;
      close.setAttribute("data-drawer-close", "");
      close.setAttribute("aria-label", "Close");
      close.textContent = "✕";
      head.append(close);
      wrap.append(head, kept);
      drawer.replaceChildren(wrap);
    }
    keptNote = null;
  }

  function refreshDrawer() {
    var id = drawerTicketId();
    if (!id || !window.htmx) return;
    var drawer = document.getElementById("drawer");
    if (drawer.classList.contains("drawer-page")) return;
    var body = drawer.querySelector(".drawer-body[data-url]");
    if (body) htmx.ajax("GET", body.getAttribute("data-url"), { target: "#drawer", swap: "innerHTML" });
  }

  // The poll's answer fires switchback:board-changed (HX-Trigger-After-Settle,
  // boards/views.py board_changes) once the fresh cards are in place: is the
  // open drawer's ticket still as the drawer shows it? An action's answer
  // carries its own drawer, so only the poll needs this.
  document.addEventListener("switchback:board-changed", function () {
    checkDrawer();
  });

  function checkDrawer() {
    var body = document.querySelector("#drawer:not(.drawer-page) .drawer-body[data-ticket-id]");
    var cols = columnsEl();
    // A write in flight answers with the drawer itself; redrawing now would
    // detach the form that sent it, and htmx would lose its answer.
    if (!body || !cols || pendingWrites > 0) return;
    var card = document.getElementById("ticket-" + body.getAttribute("data-ticket-id"));
    if (!card || card.getAttribute("data-version") !== body.getAttribute("data-version")) refreshDrawer();
  }

  // --- Filters: apply as soon as a box or select changes ------------------------------

  document.addEventListener("change", function (e) {
    var form = e.target.closest && e.target.closest("form.filters");
    if (form && e.target.name !== "q" && form.requestSubmit) form.requestSubmit();
  });

  // --- Start ---------------------------------------------------------------------------

  readSkew();
  tick();
  markOpenCard();
  scheduleDismiss();
  document.addEventListener("htmx:afterSettle", scheduleDismiss);
  showDialog(); // a dialog page rendered by the server
  setInterval(tick, 1000);
})();
