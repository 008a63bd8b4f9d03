// At page load: the query string the page was opened with (before link.js or link_tab.js
// rewrote it), for the server to restore the link's settings.
() => window.__gpFirstQuery ?? window.location.search
