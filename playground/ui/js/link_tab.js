// The tab just opened, written into the page's URL (`tab=`), so that a copied link opens it.
() => {
  window.__gpFirstQuery ??= window.location.search;  // the opened link, for link_read.js
  const url = new URL(window.location.href);
  const tab = /*TAB*/null;
  if (url.searchParams.get("tab") === tab || (tab === "train" && !url.search)) return;
  url.searchParams.set("tab", tab);  // (a bare address stays bare on the first tab)
  window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
}
