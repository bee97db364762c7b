// The handler's desk: an answer template fills the answer box; a photo opens enlarged in a dialog.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var select = event.target.closest ? event.target.closest("select[data-template-select]") : null;
    if (!select) return;
    var option = select.options[select.selectedIndex];
    var target = document.getElementById(select.getAttribute("data-target"));
    if (!target || !option) return;
    var body = option.getAttribute("data-body");
    if (body && (!target.value.trim() || target.value === target.getAttribute("data-from-template"))) {
      target.value = body;
      target.setAttribute("data-from-template", body);
    }
  });
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-enlarge]") : null;
    var dialog = document.querySelector("dialog[data-lightbox]");
    if (!link || !dialog || typeof dialog.showModal !== "function") return;
    event.preventDefault();
    var img = dialog.querySelector("img");
    img.src = link.href;
    img.alt = (link.querySelector("img") || {}).alt || "";
    dialog.showModal();
  });
})();
