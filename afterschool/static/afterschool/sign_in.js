// The print button of the sign-in sheet (no inline event handlers: Content-Security-Policy script-src 'self').
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) window.print();
});
