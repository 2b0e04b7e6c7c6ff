// Layout probe of tests/test_site.py, run by headless Chromium in a page that holds the book's
// pages in iframes of one width. Once a page has loaded and MathJax has typeset it, it lists
// the visible elements that reach past the right edge of the page, or of the article column
// for elements inside the article (or whose words spill that far out of them), and do not sit
// in a box that scrolls sideways. Only the outermost such element is listed. It also counts the
// search fields on show, lists the boxes that scroll sideways (display maths, tables) with what
// shows that they do, and what a reader can reach of a table by scrolling it to its end,
// measures the figures' images and counts the icons drawn and missing. The report is written as
// JSON into a pre element with the id site-probe.
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
  return {width: page, found: found, searches: searches, scrollers: scrollers(win),
          figures: figures(doc), icons: icons(doc)};
}

// The theme's icons (<i class="fa-solid fa-bars">): Font Awesome's script replaces each by an
// SVG, which holds its "missing" sign when the script has no such icon (book_site loads a
// subset of them); an <i> left as it was is not drawn either.
function icons(doc) {
  const svgs = Array.from(doc.querySelectorAll("svg.svg-inline--fa"));
  const missing = svgs.filter(svg => svg.querySelector(".missing"))
    .map(svg => svg.getAttribute("data-icon"));
  const left = Array.from(doc.querySelectorAll('i[class*="fa-"]')).map(i => i.className);
  return {drawn: svgs.length - missing.length, missing: missing.concat(left)};
}

// The boxes of display maths, tables, code and outputs whose content is wider than they are:
// the cue that they scroll (a background that scrolls with the content, over one that stays:
// the shadows of book.css) and, for a table, whether its last column comes into view at the
// end of a scroll.
function scrollers(win) {
  const doc = win.document;
  const boxes = doc.querySelectorAll(
    'div.math, mjx-container[display="true"], .pst-scrollable-table-container, '
    + 'div.highlight pre, div.cell_output pre');
  return Array.from(boxes).filter(el => el.scrollWidth > el.clientWidth + 1
                                   && el.getClientRects().length > 0).map(el => {
    const style = win.getComputedStyle(el);
    const report = {element: describe(el, doc), overflowX: style.overflowX,
                    backgroundAttachment: style.backgroundAttachment,
                    backgroundImage: style.backgroundImage,
                    text: (el.textContent || "").trim().replace(/\s+/g, " ").slice(0, 60)};
    const row = el.querySelector("tr");
    if (row && row.lastElementChild) {
      el.scrollLeft = el.scrollWidth;
      const box = el.getBoundingClientRect();
      const last = row.lastElementChild.getBoundingClientRect();
      report.lastColumnInView = last.right <= box.right + 1 && last.left >= box.left - 1;
      el.scrollLeft = 0;
    }
    return report;
  });
}

// The images of the article's figures, with their displayed width in CSS px.
function figures(doc) {
  return Array.from(doc.querySelectorAll("article.bd-article figure img")).map(img => ({
    src: img.getAttribute("src"), width: img.getBoundingClientRect().width,
    caption: ((img.closest("figure").querySelector(".caption-number") || {}).textContent
              || "").trim()}));
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
