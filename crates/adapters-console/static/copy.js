// Copy buttons, a progressive enhancement: `<button data-copy="ID" hidden>` copies the value
// of the field with id ID. Without JavaScript the buttons stay hidden and the value sits in a
// read-only field that can be selected and copied by hand.
(function () {
  "use strict";
  var buttons = document.querySelectorAll("button[data-copy]");
  Array.prototype.forEach.call(buttons, function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) {
      return;
    }
    var label = button.textContent;
    var said = function (text) {
      button.textContent = text;
      window.setTimeout(function () { button.textContent = label; }, 2000);
    };
    button.hidden = false;
    button.addEventListener("click", function () {
      field.focus();
      field.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(
          function () { said("Copied"); },
          function () { said("Press Ctrl+C to copy"); }
        );
      } else {
        said(document.execCommand("copy") ? "Copied" : "Press Ctrl+C to copy");
      }
    });
  });
})();
