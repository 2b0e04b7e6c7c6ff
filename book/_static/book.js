// Site-wide script of "The Transformer, Step by Step".
// A display equation wider than its box scrolls sideways (book.css). Keyboard users must reach
// it to scroll it (WCAG 2.1.1): it becomes a Tab stop, and the arrow keys scroll it. Formulas
// that fit are no Tab stops (MathJax's menu, which made every formula one, is off).
"use strict";

function bookFocusableScrollers() {
  for (const box of document.querySelectorAll('mjx-container[display="true"]')) {
    if (box.scrollWidth > box.clientWidth + 1) {
      box.setAttribute("tabindex", "0");
    } else if (box.getAttribute("tabindex") === "0") {
      box.removeAttribute("tabindex");
    }
  }
}

window.addEventListener("load", () => {
  const typeset = window.MathJax && MathJax.startup && MathJax.startup.promise;
  Promise.resolve(typeset).then(bookFocusableScrollers);
});
window.addEventListener("resize", bookFocusableScrollers);
