// live.js: the Train tab's live view (runs as the component's js_on_load, after decode.js,
// view2d.js, grid.js and charts.js). It pulls frames (playground/frames.py) from the server one
// at a time (POST gradio_api/gp/frame, playground/ui/live_view.py): the next request goes out
// once a frame is drawn, so the page never falls behind, and the server waits (up to 2 s) until
// it has something new. Between
// two fresh frames the points, arrows and heat map (and a digit grid's pixels) move smoothly at
// display rate; when the run stops, the view stops too. The root element carries counters for
// tests and the benchmark: data-frames (fresh frames drawn), data-paints (canvas paints),
// data-step, data-state, data-run, data-kind.

const S = {
  token: null, loop: 0, seq: -1, since: -1, run: null, kind: 'none', state: 'none', alertsKey: null,
  frames: 0, paints: 0, lastAt: 0, interval: 150, painting: false,
  layers: {heatmap: true, real: true, fake: true, arrows: true},
  real: null, from: null, to: null, t0: 0, dur: 0, heatCache: {},
  grid: null, curves: {step: [], loss_d: [], loss_g: [], d_real: [], d_fake: []},
  marks: [], zoomed: {loss: false, score: false}, charts: {}, dom: null, frame: null,
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
           score: q('.gp-chart-score'), marks: q('.gp-marks')};
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
      requestPaint();
    });
  });
  d.root.dataset.layers = Object.keys(S.layers).filter((k) => S.layers[k]).join(',');
  d.canvas.addEventListener('mousemove', (e) => hover(e));
  d.canvas.addEventListener('mouseleave', () => { d.tip.hidden = true; });
  new ResizeObserver(() => { resize(); requestPaint(); }).observe(d.root);
  for (const kind of ['loss', 'score']) {
    S.charts[kind] = makeChart(kind, d[kind], () => S.marks, (zoomed) => { S.zoomed[kind] = zoomed; });
  }
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
  for (const kind of ['loss', 'score']) {
    const u = S.charts[kind];
    if (u) u.setSize({width: Math.max(260, d[kind].clientWidth || 420), height: 200});
  }
}

// ------------------------------------------------------------------ pulling frames
async function pull(id) {
  let failures = 0;
  while (id === S.loop) {
    let f;
    try {
      const r = await fetch(FRAME_URL, {method: 'POST', headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({token: S.token, run: S.run, seq: S.seq, since: S.since,
                              real: S.real === null, alerts_key: S.alertsKey})});
      if (!r.ok) throw new Error(`frame request: HTTP ${r.status}`);
      f = await r.json();
      failures = 0;
    } catch (e) {
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
  }
}

async function show(f) {
  const d = dom();
  let fresh = false;
  if (f.run !== S.run || (f.view && f.view.preview)) {  // a new run (or the data before one)
    S.run = f.run; S.real = null; S.from = S.to = null; S.grid = null; S.marks = [];
    if (f.alerts === undefined) f.alerts = [];
    for (const kind of ['loss', 'score']) S.zoomed[kind] = false;
    // The last run's curves go too (a kept run's, after "Keep this run"); a new run's frame
    // sends its own from the start.
    fresh = Object.values(S.curves).some((values) => values.length);
    for (const k of Object.keys(S.curves)) S.curves[k] = [];
  }
  const now = performance.now();
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
  const steps = S.curves.step;
  S.since = steps.length ? steps[steps.length - 1] : -1;
  S.marks = f.marks || [];
  text(f, d);
  S.frames += 1;
  d.root.dataset.frames = S.frames;
  d.root.dataset.step = f.step; d.root.dataset.state = f.state; d.root.dataset.run = f.run;
  d.root.dataset.kind = f.kind; d.root.dataset.seq = f.seq;
  requestPaint();
}

async function take2d(v, moving) {
  // Every array unpacked at once: one after another, each await waited behind a paint (ring8
  // drew 3.7 fresh frames a second that way on a busy 2-core machine, 5.9 at once).
  const [real, fake, scores, moves, heat] = await Promise.all(
    [v.real, !v.preview && v.fake, !v.preview && v.fake_scores, !v.preview && v.moves,
     !v.preview && v.heat].map((p) => (p ? unpackArray(p) : null)));
  if (real) S.real = pointsOf(real, v.lim);
  const next = {lim: v.lim, real: S.real, preview: !!v.preview};
  if (!v.preview) {
    next.fake = pointsOf(fake, v.lim);
    next.scores = unitOf(scores);
    next.moves = Float32Array.from(moves);
    // The decision map comes with every other frame while training: keep the last one between.
    next.heat = heat ? unitOf(heat) : (S.to && S.to.heat) || null;
    next.res = next.heat ? Math.round(Math.sqrt(next.heat.length)) : 0;
    next.moveScale = v.move_scale;
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

// ------------------------------------------------------------------ painting
function sceneAt(now) {
  if (!S.to) return null;
  const t = S.dur > 0 ? Math.min(1, (now - S.t0) / S.dur) : 1;
  if (t >= 1 || !S.from.fake) return S.to;
  const a = S.from, b = S.to;
  return {lim: b.lim, real: b.real, res: b.res, scores: b.scores, moveScale: b.moveScale,
          fake: lerpInto(new Float32Array(b.fake.length), a.fake, b.fake, t),
          moves: lerpInto(new Float32Array(b.moves.length), a.moves, b.moves, t),
          heat: lerpInto(new Float32Array(b.heat.length), a.heat, b.heat, t)};
}

function requestPaint() {
  if (!S.painting) { S.painting = true; requestAnimationFrame(paint); }
}

function paint() {
  S.painting = false;
  const d = S.dom;
  if (!d) return;
  const now = performance.now();
  const ctx = d.canvas.getContext('2d');
  const dpr = devicePixelRatio || 1;
  let animating = false;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const side = d.canvas.width / dpr;
  if (S.kind === '2d' && S.to) {
    drawScene2d(ctx, side, sceneAt(now), S.layers, S.heatCache);
    animating = S.dur > 0 && now - S.t0 < S.dur;
  } else if (S.kind === 'images' && S.grid) {
    const g = S.grid;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    const layout = {...g.layout, scale: d.canvas.width / g.layout.nativeW};
    drawGrid(ctx, g.prev, layout);
    const t = g.dur > 0 ? Math.min(1, (now - g.t0) / g.dur) : 1;
    if (t > 0 && g.next !== g.prev) {
      ctx.globalAlpha = t; ctx.drawImage(g.next, 0, 0, d.canvas.width, d.canvas.height); ctx.globalAlpha = 1;
    }
    animating = t < 1;
  } else {
    ctx.fillStyle = 'rgb(250,250,250)';
    ctx.fillRect(0, 0, side, d.canvas.height / dpr);
  }
  S.paints += 1;
  d.root.dataset.paints = S.paints;
  if (animating) requestPaint();
}

// ------------------------------------------------------------------ words
function text(f, d) {
  const share = f.target > 0 ? Math.min(1, f.step / f.target) : 0;
  d.bar.style.width = (share * 100).toFixed(1) + '%';
  d.progress.textContent = f.target > 0
    ? `${f.step.toLocaleString('en')} / ${f.target.toLocaleString('en')} steps (${Math.round(share * 100)}%)`
    : 'No model yet';
  let status = STATE_WORDS[f.state] || f.state;
  if (f.state === 'training') {
    status += ` · ${f.rate.toLocaleString('en', {maximumFractionDigits: f.rate < 10 ? 1 : 0})} steps/s`;
  }
  if (f.target > 0 && f.elapsed > 0) status += ` · ${duration(f.elapsed)} of training`;
  if (f.view && f.view.preview) status = 'No model yet: press Train to start a run on this data.';
  d.status.textContent = status;
  d.note.textContent = f.note || '';
  d.alerts.replaceChildren(...(f.alerts || []).map((a) => {
    const div = document.createElement('div');
    div.className = 'gp-alert gp-alert-' + a.kind;
    const title = document.createElement('b');
    title.textContent = `⚠️ ${a.title}`;
    div.append(title, ` (step ${a.step.toLocaleString('en')}): ${a.text}`);
    if (a.try) { const i = document.createElement('i'); i.textContent = ' Try: '; div.append(i, a.try); }
    return div;
  }));
  d.marks.textContent = S.marks.length
    ? 'Setting changes: ' + S.marks.slice(-6).map(([s, t]) => `step ${s.toLocaleString('en')}: ${t}`).join('; ')
    : '';
  d.layers.hidden = f.kind !== '2d';
  d.caption.textContent = caption(f);
}

function caption(f) {
  if (f.kind === 'none') return 'Press Train: the real data and G\'s samples will appear here.';
  if (f.view && f.view.preview) {
    return f.kind === '2d' ? 'The real data: green points drawn from the distribution G must learn.'
      : 'Real images from the training set: what G must learn to imitate.';
  }
  if (f.kind === '2d') {
    return 'Green: real points · purple: generated (the same 512 noise vectors throughout) · ' +
      'background: D\'s verdict (green "real", purple "fake", white "can\'t tell") · arrows: ' +
      'where the next G step pushes each point. Hover a point for its numbers.';
  }
  return 'The same 64 noise vectors (seeds 0-63) drawn through G as it learns. Hover an image ' +
    'for its seed and D\'s score.';
}

function duration(s) {
  s = Math.floor(s);
  return s >= 60 ? `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s` : `${s} s`;
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
}

// ------------------------------------------------------------------ hover read-outs
function hover(e) {
  const d = S.dom, f = S.frame;
  const rect = d.canvas.getBoundingClientRect();
  const px = e.clientX - rect.left, py = e.clientY - rect.top;
  let words = '';
  if (S.kind === '2d' && S.to && S.to.fake) {
    const scene = sceneAt(performance.now());
    const i = nearestPoint(scene, px, py, rect.width, 8);
    if (i >= 0) {
      const [dx, dy] = [scene.moves[2 * i] * scene.moveScale, scene.moves[2 * i + 1] * scene.moveScale];
      words = `generated point ${i} (noise seed ${i}) at (${scene.fake[2 * i].toFixed(3)}, ` +
        `${scene.fake[2 * i + 1].toFixed(3)}) · D says ${scene.scores[i].toFixed(3)} · G's next ` +
        `step pushes it by (${dx.toExponential(2)}, ${dy.toExponential(2)})`;
    }
  } else if (S.kind === 'images' && S.grid) {
    const scale = rect.width / S.grid.layout.nativeW;
    const k = tileAt({...S.grid.layout, scale}, px, py);
    if (k >= 0) {
      const label = S.grid.labels ? ` · class ${S.grid.labels[k]}` : '';
      words = S.grid.preview ? `a real training image${label}`
        : `seed ${k}${label} · D says ${S.grid.scores ? S.grid.scores[k].toFixed(3) : '?'}`;
    }
  }
  d.tip.hidden = !words;
  if (words) {
    d.tip.textContent = words;
    d.tip.style.left = Math.min(px + 12, rect.width - 180) + 'px';
    d.tip.style.top = (py + 14) + 'px';
  }
  if (f) d.root.dataset.hover = words;
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
