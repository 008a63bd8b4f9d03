// The tab just opened, written into the page's URL (`tab=`), so that a copied link opens it.
() => {
  window.__gpFirstQuery ??= window.location.search;  // the opened link, for link_read.js
  const url = new URL(window.location.href);
  url.searchParams.set("tab", /*TAB*/null);
  window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
}
