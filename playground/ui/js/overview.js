// overview.js: the model overview graph (the SVG in live_view.py's template): z -> G -> G(z) ->
// D <- x, D's verdicts D(x) and D(G(z)), and the two losses, with the last step's numbers on it
// (frame.last: the same record as the status line's). The D-step path and the G-step path light
// up as they run: alternately while the run trains (slowed down to be seen: one iteration is a
// few milliseconds), after a single step the path of that step, and in slow motion the stage's.
// Hovering G calls onHoverG (the view plays noise turning into samples).

const OV_NOISE = {gaussian: 'N(0, I)', uniform: 'U[-1, 1]'};
const OV_PULSE_MS = 700;  // while training, each path stays lit this long

function overviewWire(root, onHoverG) {
  const svg = root.querySelector('svg.gp-overview');
  if (!svg || svg.dataset.wired) return;
  svg.dataset.wired = '1';
  const g = svg.querySelector('[data-node="G"]');
  g.addEventListener('mouseenter', () => onHoverG());
}

function overviewNumbers(root, last, noise) {
  const svg = root.querySelector('svg.gp-overview');
  if (!svg) return;
  const put = (key, text) => { const el = svg.querySelector(`[data-ov="${key}"]`); if (el) el.textContent = text; };
  const num = (v) => (v === null || v === undefined ? '–' : Number(v).toFixed(3));
  for (const key of ['d_real', 'd_fake', 'loss_d', 'loss_g']) put(key, last ? num(last[key]) : '–');
  if (noise) put('noise', OV_NOISE[noise] || noise);
  const step = root.querySelector('.gp-ov-step');
  if (step) step.textContent = last ? `numbers of step ${last.step.toLocaleString('en')}` : 'no step yet';
  root.dataset.ovStep = last ? last.step : '';
}

// path: 'd', 'g', 'both' or null (nothing lit).
function overviewHighlight(root, path) {
  const svg = root.querySelector('svg.gp-overview');
  if (!svg) return;
  svg.classList.toggle('gp-ov-lit-d', path === 'd' || path === 'both');
  svg.classList.toggle('gp-ov-lit-g', path === 'g' || path === 'both');
  root.dataset.ovPath = path || '';
}

// While training, the two paths take turns; `now` in ms.
function overviewPulse(root, now) {
  overviewHighlight(root, Math.floor(now / OV_PULSE_MS) % 2 === 0 ? 'd' : 'g');
}
