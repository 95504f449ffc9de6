// Optional: shows the event's time in the viewer's own time zone.
// The page works the same without it.
(function () {
  "use strict";
  var line = document.getElementById("viewer-time");
  if (!line || !window.Intl || !Intl.DateTimeFormat) { return; }
  var slot = line.querySelector("time");
  var start = new Date(slot.getAttribute("datetime"));
  var endText = slot.getAttribute("data-end");
  var end = endText ? new Date(endText) : null;
  if (isNaN(start.getTime())) { return; }
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  var day = { weekday: "short", day: "numeric", month: "short", year: "numeric" };
  var clock = { hour: "2-digit", minute: "2-digit" };
  var fmtDay = new Intl.DateTimeFormat(undefined, day);
  var fmtClock = new Intl.DateTimeFormat(undefined, clock);
  var text = fmtDay.format(start) + " " + fmtClock.format(start);
  if (end && !isNaN(end.getTime()) && end > start) {
    text += fmtDay.format(end) === fmtDay.format(start)
      ? "–" + fmtClock.format(end)
      : " – " + fmtDay.format(end) + " " + fmtClock.format(end);
  }
  slot.textContent = text + (zone ? " (" + zone + ")" : "");
  line.hidden = false;
}());
