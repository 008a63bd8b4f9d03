// draw.js: your own 2D data, drawn on the view. "✏️ Draw data" turns the canvas into a drawing
// pad over the current view's square: dragging lays points along the stroke, a click drops a
// small cluster, each point with a little jitter (as GAN Lab's drawing does). After each
// stroke the points go to the form's points (#points-box, js/points_box.js), which the server reads
// as the setting `points` (the dataset becomes "points"; Train trains on them). Drawing starts
// from the points already there (drawn before, or from a CSV), so it adds to them.

const DRAW_MAX = 10000;  // the setting's own limit
const DRAW_STEP_PX = 4;  // a stroke lays a point every this many pixels
const DRAW_JITTER = 0.006;  // a stroke's points: jitter std, as a share of the view's width
const CLICK_POINTS = 12, CLICK_JITTER = 0.02;  // a click: a small cluster

function gauss() {
  let u = 0, v = 0;
  while (u === 0) u = Math.random();
  while (v === 0) v = Math.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

function pointsGet() {
  return window.gpPoints ? window.gpPoints.get() : '';
}

function drawCount() { return S.draw.strokes.reduce((n, s) => n + s.length, 0); }

function drawStart() {
  const dr = S.draw;
  dr.on = true;
  dr.lim = (S.to && S.to.lim) || (S.preview && S.preview.lim) || 1.5;
  dr.strokes = [];
  try {
    const text = pointsGet();
    const have = text ? JSON.parse(text) : [];
    if (Array.isArray(have) && have.length) dr.strokes.push(have);
  } catch (e) { /* unreadable: start afresh */ }
  drawUi();
}

function drawStop() { S.draw.on = false; S.draw.active = null; drawUi(); requestPaint(); }

function drawUi() {
  const d = S.dom, on = S.draw.on;
  d.drawBtn.textContent = on ? '✓ Done drawing' : '✏️ Draw data';
  d.drawHelp.hidden = !on;
  d.root.dataset.drawing = on ? '1' : '';
  d.root.dataset.drawn = drawCount();
  d.canvas.style.cursor = on ? 'crosshair' : '';
  requestPaint();
}

function drawAt(e) {
  const rect = S.dom.canvas.getBoundingClientRect();
  const px = e.clientX - rect.left, py = e.clientY - rect.top, lim = S.draw.lim;
  return {px, py, x: (px / rect.width) * 2 * lim - lim, y: lim - (py / rect.height) * 2 * lim, width: rect.width};
}

function drawAdd(stroke, x, y, jitter) {
  if (drawCount() >= DRAW_MAX) return false;
  const lim = S.draw.lim, sd = jitter * 2 * lim;
  const clamp = (v) => Math.max(-lim, Math.min(lim, v));
  stroke.push([+clamp(x + sd * gauss()).toFixed(4), +clamp(y + sd * gauss()).toFixed(4)]);
  return true;
}

function drawDown(e) {
  if (!S.draw.on) return false;
  e.preventDefault();
  S.dom.canvas.setPointerCapture && S.dom.canvas.setPointerCapture(e.pointerId);
  const at = drawAt(e);
  S.draw.active = {stroke: [], last: at, moved: false, start: at};
  S.draw.strokes.push(S.draw.active.stroke);
  drawAdd(S.draw.active.stroke, at.x, at.y, DRAW_JITTER);
  requestPaint();
  return true;
}

function drawMove(e) {
  const a = S.draw.active;
  if (!S.draw.on || !a) return false;
  const at = drawAt(e);
  let dist = Math.hypot(at.px - a.last.px, at.py - a.last.py);
  // Points every DRAW_STEP_PX along the path since the last one: fast strokes leave no gaps.
  while (dist >= DRAW_STEP_PX) {
    const f = DRAW_STEP_PX / dist;
    const nx = a.last.px + (at.px - a.last.px) * f, ny = a.last.py + (at.py - a.last.py) * f;
    const lim = S.draw.lim, w = at.width;
    a.last = {px: nx, py: ny};
    a.moved = true;
    if (!drawAdd(a.stroke, (nx / w) * 2 * lim - lim, lim - (ny / w) * 2 * lim, DRAW_JITTER)) break;
    dist = Math.hypot(at.px - a.last.px, at.py - a.last.py);
  }
  requestPaint();
  return true;
}

function drawUp(e) {
  const a = S.draw.active;
  if (!S.draw.on || !a) return false;
  S.draw.active = null;
  if (!a.moved) {  // a click: a small cluster around it
    a.stroke.length = 0;
    for (let i = 0; i < CLICK_POINTS; i++) drawAdd(a.stroke, a.start.x, a.start.y, CLICK_JITTER);
  }
  drawCommit();
  return true;
}

function drawCommit() {
  S.draw.strokes = S.draw.strokes.filter((s) => s.length);
  const all = [].concat(...S.draw.strokes);
  S.draw.sent = S.draw.sent.concat([all]).slice(-8);
  if (window.gpPoints) window.gpPoints.set(all.length ? JSON.stringify(all) : '');
  drawUi();
}

function drawWire(d) {
  d.drawBtn.addEventListener('click', () => (S.draw.on ? drawStop() : drawStart()));
  d.root.querySelector('.gp-draw-undo').addEventListener('click', () => { S.draw.strokes.pop(); drawCommit(); });
  d.root.querySelector('.gp-draw-clear').addEventListener('click', () => { S.draw.strokes = []; drawCommit(); });
  // The server wrote the points (Clear, a CSV, a checkpoint): the drawing starts from them.
  window.addEventListener('gp-points', (e) => {
    if (!S.draw.on || S.draw.active) return;
    try {
      const have = e.detail ? JSON.parse(e.detail) : [];
      // The server's echo of something drawn here (rounded its way, perhaps late) keeps the
      // strokes as they are, for Undo; anything else replaces them.
      const same = (sent) => have.length === sent.length && have.every(
        ([x, y], i) => Math.abs(x - sent[i][0]) < 1e-3 && Math.abs(y - sent[i][1]) < 1e-3);
      if (!S.draw.sent.some(same)) S.draw.strokes = have.length ? [have] : [];
    } catch (err) { S.draw.strokes = []; }
    drawUi();
  });
}

function paintDrawing(ctx, size) {
  const lim = S.draw.lim;
  ctx.fillStyle = 'rgb(250,250,250)';
  ctx.fillRect(0, 0, size, size);
  drawAxes(ctx, lim, size);
  const all = [].concat(...S.draw.strokes);
  drawDots(ctx, all.flat(), lim, size, 'rgb(21,148,70)', 2.5);
  ctx.fillStyle = 'rgb(60,60,60)';
  ctx.font = '12px sans-serif';
  ctx.textBaseline = 'bottom';
  ctx.fillText(`${all.length.toLocaleString('en')} point(s) drawn` +
               (all.length >= DRAW_MAX ? ` (the most: ${DRAW_MAX.toLocaleString('en')})` : ''), 6, size - 6);
}
