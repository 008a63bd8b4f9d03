// A lesson picked from the Train tab's menu goes into the page's URL as `lesson=NAME` (a link
// then opens its card), or leaves it when none is picked. Passes the name on to the server.
(name) => {
  const url = new URL(window.location.href);
  if (name) url.searchParams.set("lesson", name);
  else url.searchParams.delete("lesson");
  if (url.href !== window.location.href) {
    window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
  }
  return name;
}
