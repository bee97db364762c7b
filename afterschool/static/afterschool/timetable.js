// Places the timetable's blocks from their data attributes (pixels from the top, percent across the day's column):
// the page carries no style attributes, so the Content-Security-Policy needs no 'unsafe-inline'.
(function () {
  "use strict";
  function place() {
    document.querySelectorAll('[data-testid="timetable"] [data-height], [data-testid="timetable"] [data-top]')
      .forEach(function (el) {
        var d = el.dataset;
        if (d.top !== undefined) el.style.top = d.top + "px";
        if (d.height !== undefined) el.style.height = d.height + "px";
        if (d.left !== undefined) el.style.left = d.left + "%";
        if (d.width !== undefined) el.style.width = d.width + "%";
      });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", place);
  else place();
})();
