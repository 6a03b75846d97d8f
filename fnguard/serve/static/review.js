// Keyboard shortcuts: 1 / 2 / 3 give a verdict, n takes the next case. Any element with a
// data-key attribute is clicked when its key is pressed outside a text field.
"use strict";
document.addEventListener("keydown", function (event) {
  if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
  var target = event.target;
  if (target && target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
  var button = document.querySelector('[data-key="' + CSS.escape(event.key) + '"]');
  if (!button || button.disabled) return;
  event.preventDefault();
  button.disabled = true;  // one press, one submission
  var form = button.form;
  if (form && button.name) {
    var carry = document.createElement("input");  // a disabled button's value is not sent
    carry.type = "hidden";
    carry.name = button.name;
    carry.value = button.value;
    form.appendChild(carry);
  }
  if (form) form.requestSubmit ? form.requestSubmit() : form.submit();
  else button.click();
});
