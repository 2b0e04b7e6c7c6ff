// Site-wide script of "The Transformer, Step by Step": scrolling formulas, search results.
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

// Search results quote each page around the word found. They quote the article alone (not the
// page's menus and contents list), and each formula as the plain text the build wrote beside its
// TeX (data-text="√d_k", book_site.plain_math), not as "\(\sqrt{d_k}\)".
document.addEventListener("DOMContentLoaded", () => {
  if (typeof Search === "undefined" || !Search.htmlToText) {
    return;
  }
  const htmlToText = Search.htmlToText;
  Search.htmlToText = (htmlString, anchor) => {
    const page = new DOMParser().parseFromString(htmlString, "text/html");
    const main = page.querySelector('[role="main"]');
    const article = page.querySelector("article.bd-article");
    if (main && article) {
      main.replaceChildren(article);
    }
    for (const formula of page.querySelectorAll(".math[data-text]")) {
      formula.textContent = formula.dataset.text;
    }
    return htmlToText(page.documentElement.outerHTML, anchor);
  };
});
