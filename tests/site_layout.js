// Layout probe of tests/test_site.py, run by headless Chromium in a page that holds the book's
// pages in iframes of one width. Once a page has loaded and MathJax has typeset it, it lists
// the visible elements that reach past the right edge of the page, or of the article column
// for elements inside the article (or whose words spill that far out of them), and do not sit
// in a box that scrolls sideways. Only the outermost such element is listed. It also counts the
// search fields on show. The report is written as JSON into a pre element with the id
// site-probe.
"use strict";

function describe(el, doc) {
  const parts = [];
  for (let e = el; e && e !== doc.body && parts.length < 4; e = e.parentElement) {
    let part = e.tagName.toLowerCase();
    if (e.id) { parts.unshift(part + "#" + e.id); break; }
    const classes = Array.from(e.classList).slice(0, 2).join(".");
    parts.unshift(classes ? part + "." + classes : part);
  }
  return parts.join(" > ");
}

function overflowing(win) {
  const doc = win.document;
  const page = doc.documentElement.clientWidth;
  const article = doc.querySelector("article.bd-article") || doc.querySelector("main");
  const column = article ? Math.min(page, article.getBoundingClientRect().right) : page;
  const skipped = new Set();  // reported, clipped on purpose (screen-reader text), or inside one
  const found = [];
  for (const el of doc.body.querySelectorAll("*")) {
    if (el.parentElement && skipped.has(el.parentElement)) { skipped.add(el); continue; }
    const style = win.getComputedStyle(el);
    if (style.clip !== "auto" || style.clipPath !== "none") { skipped.add(el); continue; }
    if (style.display === "none" || style.visibility === "hidden") continue;
    const box = el.getBoundingClientRect();
    const limit = article && article.contains(el) ? column : page;
    // A word too long for its line spills out of the box that holds it (a heading's
    // "DistributedDataParallel" on a phone): the box stays put, its scroll width grows.
    const words = style.overflowX === "visible"
      && Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
    const right = words ? Math.max(box.right, box.left + el.scrollWidth) : box.right;
    if (box.width === 0 || box.height === 0 || right <= limit + 1) continue;
    let scrolls = false;
    for (let a = el.parentElement; a && a !== doc.body && !scrolls; a = a.parentElement) {
      const x = win.getComputedStyle(a).overflowX;
      // a box of its own that scrolls: not the page's layout around the article
      scrolls = (x === "auto" || x === "scroll") && !(article && a.contains(article))
        && a.getBoundingClientRect().right <= limit + 1;
    }
    if (scrolls) continue;
    skipped.add(el);
    found.push({element: describe(el, doc), right: Math.round(right), limit: Math.round(limit),
                text: (el.textContent || "").trim().replace(/\s+/g, " ").slice(0, 80)});
  }
  // Search fields a reader sees at once (the theme once drew a second one across the top).
  const searches = Array.from(doc.querySelectorAll(".search-button-field, form.bd-search"))
    .filter(el => el.getClientRects().length > 0 && !el.closest("dialog:not([open])")
            && win.getComputedStyle(el).visibility !== "hidden").length;
  return {width: page, found: found, searches: searches};
}

function whenTypeset(frame) {
  return new Promise(resolve => {
    const measure = () => {
      const win = frame.contentWindow;
      const mathjax = win.MathJax && win.MathJax.startup && win.MathJax.startup.promise;
      Promise.resolve(mathjax)
        .then(() => win.document.fonts.ready)
        .then(() => new Promise(wait => setTimeout(wait, 300)))
        .then(() => resolve([frame.dataset.page, overflowing(win)]))
        .catch(error => resolve([frame.dataset.page, {error: String(error)}]));
    };
    if (frame.contentDocument && frame.contentDocument.readyState === "complete"
        && frame.contentWindow.location.href !== "about:blank") {
      measure();
    } else {
      frame.addEventListener("load", measure);
    }
  });
}

Promise.all(Array.from(document.querySelectorAll("iframe")).map(whenTypeset)).then(results => {
  const report = document.createElement("pre");
  report.id = "site-probe";
  report.textContent = JSON.stringify(Object.fromEntries(results));
  document.body.appendChild(report);
});
