// The Train tab's settings, written into the page's URL as they change (playground/ui/links.py
// reads them back when a link is opened). Run by Gradio on every change of the preset menu or of
// a field, with their values in FIELDS order after the preset. The link names the preset and
// only the fields that differ from it, by their config names; `tab` and `hide` are kept.
(preset, ...values) => {
  window.__gpFirstQuery ??= window.location.search;  // the opened link, for link_read.js
  const PRESETS = /*PRESETS*/null;  // each preset's value of every field (filled in by Python)
  const FIELDS = /*FIELDS*/null;
  const DEFAULT = /*DEFAULT*/null;
  const url = new URL(window.location.href);
  const params = new URLSearchParams();
  const base = PRESETS[preset] || PRESETS[DEFAULT];  // "custom": fields on top of the default
  if (PRESETS[preset]) params.set("preset", preset);
  FIELDS.forEach((name, i) => {
    const v = values[i];
    if (v === null || v === undefined || v === "" || v === base[name]) return;
    params.set(name, String(v));
  });
  for (const key of ["tab", "hide", "lesson"]) {
    if (url.searchParams.has(key)) params.set(key, url.searchParams.get(key));
  }
  const search = params.toString();
  // A bare address stays bare while the settings are the default preset's; an address is only
  // rewritten when it changes (each rewrite is a navigation to the browser and to test drivers).
  const plain = [...params.keys()].every((k) => k === "preset" || k === "tab") &&
    params.get("preset") === DEFAULT && [null, "train"].includes(params.get("tab"));
  if ((plain && !url.search) || "?" + search === url.search) return;
  window.history.replaceState(window.history.state, "",
                              url.pathname + (search ? "?" + search : "") + url.hash);
}
