// "Copy link": the page's URL (every setting in it) to the clipboard, and shown beside the
// button, for browsers that refuse the clipboard (a page not served over HTTPS or localhost).
() => {
  const href = window.location.href;
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(href).catch(() => {});
  }
  return href;
}
