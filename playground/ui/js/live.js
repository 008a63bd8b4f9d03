// live.js: the Train tab's live view (runs as the component's js_on_load, after decode.js,
// view2d.js, layers.js, grid.js, charts.js, overview.js, slowmo.js, draw.js, pointer.js, words.js
// and paint.js). It pulls frames (playground/frames.py) from the server one at a time (POST gradio_api/gp/frame,
// playground/ui/live_view.py): the next request goes out once a frame is drawn, so the page
// never falls behind, and the server waits (up to 2 s) until it has something new. The request
// names the layers shown (`want`: G's manifold and its slice, D*, the contour, the quality
// series the page has), so the server computes only those; switching one on asks again at once.
// Between two fresh frames the points, arrows, manifold and heat map (and a digit grid's
// pixels) move smoothly at display rate; when the run stops, the view stops too. The root
// element carries counters for tests and the benchmark: data-frames (fresh frames drawn),
// data-paints (canvas paints), data-step, data-state, data-run, data-kind.

const S = {
  token: null, loop: 0, seq: -1, asked: 0, since: -1, run: null, kind: 'none', state: 'none', alertsKey: null,
  frames: 0, paints: 0, lastAt: 0, interval: 150, painting: false, abort: null,
  layers: {heatmap: true, real: true, contour: false, fake: true, arrows: true, manifold: false, dstar: false},
  axes: [0, 1], contour: null, zinfo: null, dstar: null, preview: null,
  quality: [], real: null, from: null, to: null, t0: 0, dur: 0, heatCache: {},
  grid: null, curves: {step: [], loss_d: [], loss_g: [], d_real: [], d_fake: []},
  marks: [], zoomed: {loss: false, score: false}, charts: {}, dom: null, frame: null,
  slowSeen: -1, slow: null, draw: {on: false, strokes: [], active: null, lim: 1.5, sent: []},
  follow: -1, trail: [], hoverG: 0, lastStep: null, lastRun: null, litTimer: 0,
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Where frames come from: beside the page's own Gradio API (its root, on a Space or behind a
// proxy, comes from Gradio's config).
const FRAME_URL = ((window.gradio_config && window.gradio_config.root) || '').replace(/\/$/, '') +
  '/gradio_api/gp/frame';
const STATE_WORDS = {
  idle: 'No model yet: press Train.', waiting: 'Waiting for a training slot: other runs are training.',
  training: 'Training', paused: 'Paused.', done: 'Done: reached the step target.',
  diverged: 'Diverged: the model is back at its last good state (see the warning).',
};

function dom() {
  const q = (sel) => element.querySelector(sel);
  const root = q('.gp-live');
  if (!root) return null;
  if (S.dom && S.dom.root === root) return S.dom;
  S.dom = {root, bar: q('.gp-progress-bar'), progress: q('.gp-progress-text'), status: q('.gp-status'),
           note: q('.gp-note'), alerts: q('.gp-alerts'), canvas: q('canvas.gp-view'), tip: q('.gp-tooltip'),
           layers: q('.gp-layers'), caption: q('.gp-view-caption'), loss: q('.gp-chart-loss'),
           score: q('.gp-chart-score'), quality: q('.gp-chart-quality'), marks: q('.gp-marks'),
           qualityNote: q('.gp-quality-note'),
           dstar: q('.gp-dstar'), dstarOwn: q('canvas.gp-dstar-own'), dstarOpt: q('canvas.gp-dstar-opt'),
           dstarText: q('.gp-dstar-text'), slow: q('.gp-slowmo'), tools: q('.gp-tools'),
           drawBtn: q('.gp-draw-btn'), drawHelp: q('.gp-draw-help'), follow: q('.gp-follow'),
           axes: q('.gp-axes'), axisA: q('.gp-axis-a'), axisB: q('.gp-axis-b')};
  S.charts = {};
  wire(S.dom);
  return S.dom;
}

function wire(d) {
  d.layers.querySelectorAll('input[data-layer]').forEach((box) => {
    box.checked = S.layers[box.dataset.layer];
    box.addEventListener('change', () => {
      S.layers[box.dataset.layer] = box.checked;
      d.root.dataset.layers = Object.keys(S.layers).filter((k) => S.layers[k]).join(',');
      d.dstar.hidden = !(S.layers.dstar && S.kind === '2d');
      if (['manifold', 'dstar', 'contour'].includes(box.dataset.layer) && box.checked) askAgain();
      requestPaint();
    });
  });
  d.root.dataset.layers = Object.keys(S.layers).filter((k) => S.layers[k]).join(',');
  for (const input of [d.axisA, d.axisB]) {
    input.addEventListener('change', () => {
      const a = Math.round(+d.axisA.value) - 1, b = Math.round(+d.axisB.value) - 1;
      const zDim = S.zinfo ? S.zinfo.zDim : 2;
      if (a >= 0 && b >= 0 && a < zDim && b < zDim && a !== b) {
        S.axes = [a, b];
        askAgain();
      } else {  // not a slice: back to the one shown
        d.axisA.value = S.axes[0] + 1; d.axisB.value = S.axes[1] + 1;
      }
    });
  }
  // On a phone the overview graph is too small to read: folded until asked for.
  if (window.innerWidth < 600) d.root.querySelector('.gp-overview-box').open = false;
  pointerWire(d);
  drawWire(d);
  slowWire(d);
  overviewWire(d.root, () => { S.hoverG = performance.now(); requestPaint(); });
  new ResizeObserver(() => { resize(); requestPaint(); }).observe(d.root);
  for (const kind of ['loss', 'score']) {
    S.charts[kind] = makeChart(kind, d[kind], () => S.marks, (zoomed) => { S.zoomed[kind] = zoomed; });
  }
  S.charts.quality = makeQualityChart(d.quality);
  resize();
  refreshCharts();
}

function resize() {
  const d = S.dom;
  const side = Math.max(200, Math.min(440, d.canvas.parentElement.clientWidth || 440));
  const dpr = devicePixelRatio || 1;
  d.canvas.style.width = side + 'px';
  d.canvas.style.height = (S.grid ? Math.round(side * S.grid.layout.nativeH / S.grid.layout.nativeW) : side) + 'px';
  d.canvas.width = Math.round(side * dpr);
  d.canvas.height = Math.round(parseFloat(d.canvas.style.height) * dpr);
  for (const kind of ['loss', 'score', 'quality']) {
    const u = S.charts[kind];
    if (u) u.setSize({width: Math.max(260, d[kind].clientWidth || 420), height: 200});
  }
}

// ------------------------------------------------------------------ pulling frames
function wants() {
  const q = S.quality;
  return {manifold: S.layers.manifold, axes: S.axes, dstar: S.layers.dstar,
          contour: S.layers.contour && (!S.contour || !!S.preview), quality_since: q.length,
          quality_last: q.length ? q[q.length - 1][0] : -1};
}

// A layer was switched on (or the slice changed): ask for a frame that holds it now, rather
// than after the wait of the request in flight. A frame already on its way in (being read or
// drawn when this comes) was asked for without it: `pull` asks again after drawing it.
function askAgain() {
  S.seq = -1;
  S.asked += 1;
  if (S.abort) S.abort.abort();
}

async function pull(id) {
  let failures = 0;
  while (id === S.loop) {
    let f;
    const abort = S.abort = new AbortController();
    const asked = S.asked;
    try {
      const r = await fetch(FRAME_URL, {method: 'POST', headers: {'Content-Type': 'application/json'},
        signal: abort.signal,
        body: JSON.stringify({token: S.token, run: S.run, seq: S.seq, since: S.since,
                              real: S.real === null, alerts_key: S.alertsKey, want: wants(),
                              slow: S.slowSeen})});
      if (!r.ok) throw new Error(`frame request: HTTP ${r.status}`);
      f = await r.json();
      failures = 0;
    } catch (e) {
      if (abort.signal.aborted) continue;  // askAgain: a new request at once
      failures += 1;
      await sleep(Math.min(5000, 200 * 2 ** failures));
      continue;
    }
    if (id !== S.loop) return;
    if (!f || f.same) continue;
    if (f.error) {
      S.dom.status.textContent = f.error;
      await sleep(3000);
      continue;
    }
    try {
      await show(f);
    } catch (e) {
      console.warn('GAN Playground: could not draw a frame', e);
      await sleep(500);
    }
    if (asked !== S.asked) S.seq = -1;  // show() set the seq of a frame without the new layer
  }
}

function newRun() {
  S.real = null; S.from = S.to = null; S.grid = null; S.marks = []; S.contour = null;
  S.zinfo = null; S.dstar = null; S.quality = []; S.follow = -1; S.trail = [];
  for (const kind of ['loss', 'score']) S.zoomed[kind] = false;
  slowStop();
}

async function show(f) {
  const d = dom();
  let fresh = false;
  if (f.run !== S.run || (f.view && f.view.preview)) {  // a new run (or the data before one)
    newRun();
    S.run = f.run;
    if (f.alerts === undefined) f.alerts = [];
    // The last run's curves go too (a kept run's, after "Keep this run"); a new run's frame
    // sends its own from the start.
    fresh = Object.values(S.curves).some((values) => values.length);
    for (const k of Object.keys(S.curves)) S.curves[k] = [];
  }
  const now = performance.now();
  const wasStill = S.state !== 'training' && S.state !== 'waiting';
  if (f.state === 'training' && S.state === 'training' && S.lastAt) {
    S.interval = Math.min(800, Math.max(40, 0.7 * S.interval + 0.3 * (now - S.lastAt)));
  }
  S.lastAt = now; S.seq = f.seq; S.state = f.state; S.kind = f.kind;
  if (f.alerts === undefined && S.frame) f.alerts = S.frame.alerts;  // unchanged: not sent again
  S.alertsKey = f.alerts_key || null; S.frame = f;
  const moving = f.state === 'training';
  if (f.kind === '2d') await take2d(f.view, moving);
  else if (f.kind === 'images') await takeGrid(f.view, moving);
  if ((f.curves && addCurves(S.curves, f.curves)) || fresh) refreshCharts();
  if (f.quality) takeQuality(f.quality);
  const steps = S.curves.step;
  S.since = steps.length ? steps[steps.length - 1] : -1;
  S.marks = f.marks || [];
  if (f.slowmo) { S.slowSeen = f.slowmo.id; slowStart(f.slowmo); }
  if (moving && S.slow) slowStop();  // training again: the slow iteration is over
  text(f, d);
  overviewNumbers(d.root, f.last || null, S.frame.noise);
  // A single step (Step D only, G only, both) lights its path for a moment.
  const single = !moving && wasStill && f.last && S.lastStep !== null &&
    f.last.step !== S.lastStep && f.run === S.lastRun;
  S.lastStep = f.last ? f.last.step : null; S.lastRun = f.run;
  if (single && !S.slow) {
    overviewHighlight(d.root, f.last.which);
    clearTimeout(S.litTimer);
    S.litTimer = setTimeout(() => {
      S.litTimer = 0;
      if (!S.slow && S.state !== 'training') overviewHighlight(d.root, null);
    }, 1500);
  } else if (!S.slow && !S.litTimer) {
    overviewHighlight(d.root, null);
  }
  S.frames += 1;
  d.root.dataset.frames = S.frames;
  d.root.dataset.step = f.step; d.root.dataset.state = f.state; d.root.dataset.run = f.run;
  d.root.dataset.kind = f.kind; d.root.dataset.seq = f.seq;
  requestPaint();
}

async function take2d(v, moving) {
  // Every array unpacked at once: one after another, each await waited behind a paint (ring8
  // drew 3.7 fresh frames a second that way on a busy 2-core machine, 5.9 at once).
  const [real, fake, scores, moves, heat, extra] = await Promise.all(
    [v.real, !v.preview && v.fake, !v.preview && v.fake_scores, !v.preview && v.moves,
     !v.preview && v.heat].map((p) => (p ? unpackArray(p) : null)).concat([takeLayers(v)]));
  if (real) S.real = pointsOf(real, v.lim);
  if (extra.contour) S.contour = extra.contour;
  if (extra.zinfo) S.zinfo = extra.zinfo;
  if (extra.dstar) { S.dstar = extra.dstar; showDstar(); }
  const next = {lim: v.lim, real: S.real, preview: !!v.preview, manifold: extra.manifold || null};
  S.preview = v.preview ? {lim: v.lim} : null;
  if (!v.preview) {
    next.fake = pointsOf(fake, v.lim);
    next.scores = unitOf(scores);
    next.moves = Float32Array.from(moves);
    // The decision map comes with every other frame while training: keep the last one between.
    next.heat = heat ? unitOf(heat) : (S.to && S.to.heat) || null;
    next.res = next.heat ? Math.round(Math.sqrt(next.heat.length)) : 0;
    next.moveScale = v.move_scale;
    if (S.follow >= 0 && 2 * S.follow < next.fake.length) {
      S.trail.push([next.fake[2 * S.follow], next.fake[2 * S.follow + 1], v.step, next.scores[S.follow]]);
      if (S.trail.length > 400) S.trail.shift();
      followWords();
    }
  }
  const current = sceneAt(performance.now());
  const same = current && current.fake && next.fake && current.fake.length === next.fake.length &&
    current.heat && next.heat && current.heat.length === next.heat.length;
  S.from = same ? current : next;
  S.to = next; S.t0 = performance.now(); S.dur = moving && same ? S.interval : 0;
  if (S.grid) { S.grid = null; resize(); }
}

async function takeGrid(v, moving) {
  const [pixels, scores] = await Promise.all([unpackArray(v.grid),
                                              v.scores ? unpackArray(v.scores) : null]);
  const shape = v.grid.shape;
  const width = S.dom.canvas.parentElement.clientWidth || 440;
  const layout = gridLayout(shape, Math.min(440, width));
  const g = S.grid;
  const same = g && g.shape.join() === shape.join();
  const next = gridCanvas(pixels, shape, layout);
  if (same) {  // what is on screen now becomes the start of the next fade
    const t = g.dur > 0 ? Math.min(1, (performance.now() - g.t0) / g.dur) : 1;
    const blend = document.createElement('canvas');
    blend.width = layout.nativeW; blend.height = layout.nativeH;
    const b = blend.getContext('2d');
    b.drawImage(g.prev, 0, 0); b.globalAlpha = t; b.drawImage(g.next, 0, 0);
    S.grid = {shape, layout, prev: blend, next, t0: performance.now(), dur: moving ? S.interval : 0,
              scores: scores ? unitOf(scores) : null, labels: v.labels, preview: !!v.preview};
  } else {
    S.grid = {shape, layout, prev: next, next, t0: 0, dur: 0,
              scores: scores ? unitOf(scores) : null, labels: v.labels, preview: !!v.preview};
    resize();
  }
  S.from = S.to = null;
}

function refreshCharts() {
  const c = S.curves;
  const data = {loss: [c.step, c.loss_d, c.loss_g], score: [c.step, c.d_real, c.d_fake]};
  for (const kind of ['loss', 'score']) {
    const u = S.charts[kind];
    if (!u) continue;
    u.setData(data[kind], !S.zoomed[kind]);
    if (S.zoomed[kind]) u.redraw(false);
    S.dom[kind].dataset.xmin = u.scales.x.min ?? '';
    S.dom[kind].dataset.xmax = u.scales.x.max ?? '';
  }
  if (!S.quality.length && S.charts.quality) {
    S.charts.quality.setData([[], [], [], []]);
    S.dom.qualityNote.textContent = '';
  }
}

// ------------------------------------------------------------------ start
function start() {
  let token = null;
  try { token = JSON.parse(props.value || '{}').token || null; } catch (e) { token = null; }
  const d = dom();
  if (!d) return;
  if (token && token !== S.token) {
    S.token = token; S.seq = -1; S.since = -1; S.run = null; S.real = null;
    S.loop += 1;
    pull(S.loop);
  }
  requestPaint();
}

watch('value', start);
start();
