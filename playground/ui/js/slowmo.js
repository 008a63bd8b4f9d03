// slowmo.js: "Step, slowly": one iteration in its stages (frame.slowmo, from
// playground/slowmo.py), played on the 2D view one stage per click (Next, Back) or by itself
// (Play: STAGE_MS a stage). Each stage's picture: the noise batch in a small inset square, the
// fakes G(z), D's scores as each point's colour, D's map before and after its update (a
// cross-fade), G's gradient arrows on a fresh batch, and the points moving along them. The
// overview graph lights the stage's path. The panel names the stage and gives its numbers.

const STAGE_MS = 1000;
const MOVE_MS = 900;  // the animated stages (D's map changing, points moving) take this long

function slowStart(data) {
  const p = S.slow = {data, stage: 0, t0: performance.now(), playing: false, timer: 0};
  p.heatBefore = Float32Array.from(data.d.heat_before.flat());
  p.heatAfter = Float32Array.from(data.d.heat_after.flat());
  slowShow();
}

function slowStop() {
  if (!S.slow) return;
  clearTimeout(S.slow.timer);
  S.slow = null;
  const d = S.dom;
  d.slow.hidden = true;
  d.root.dataset.slowStage = '';
  overviewHighlight(d.root, null);
  requestPaint();
}

function slowGo(delta) {
  const p = S.slow;
  if (!p) return;
  const last = p.data.stages.length - 1;
  p.stage = Math.max(0, Math.min(last, p.stage + delta));
  p.t0 = performance.now();
  if (p.stage === last) slowPlay(false);
  slowShow();
}

function slowPlay(on) {
  const p = S.slow;
  if (!p) return;
  p.playing = on;
  clearTimeout(p.timer);
  S.dom.slow.querySelector('.gp-slowmo-play').textContent = on ? '❚❚ Pause' : '▶ Play (1 s a stage)';
  if (on) {
    const tick = () => {
      if (!S.slow || !S.slow.playing) return;
      if (S.slow.stage >= S.slow.data.stages.length - 1) { slowPlay(false); return; }
      slowGo(1);
      S.slow.timer = setTimeout(tick, STAGE_MS);
    };
    p.timer = setTimeout(tick, p.stage === 0 ? STAGE_MS / 2 : STAGE_MS);
  }
}

function slowShow() {
  const p = S.slow, d = S.dom, stage = p.data.stages[p.stage];
  d.slow.hidden = false;
  d.slow.querySelector('.gp-slowmo-title').textContent = `${p.stage + 1}. ${stage.title}`;
  d.slow.querySelector('.gp-slowmo-count').textContent =
    ` (${stage.path === 'd' ? 'D step' : 'G step'} · stage ${p.stage + 1} of ${p.data.stages.length} · iteration ${p.data.step.toLocaleString('en')})`;
  d.slow.querySelector('.gp-slowmo-text').textContent = stage.text;
  d.slow.querySelector('.gp-slowmo-back').disabled = p.stage === 0;
  d.slow.querySelector('.gp-slowmo-next').disabled = p.stage === p.data.stages.length - 1;
  d.root.dataset.slowStage = stage.key;
  d.root.dataset.slowIndex = p.stage;
  overviewHighlight(d.root, stage.path);
  requestPaint();
}

function slowWire(d) {
  d.slow.querySelector('.gp-slowmo-next').addEventListener('click', () => { slowPlay(false); slowGo(1); });
  d.slow.querySelector('.gp-slowmo-back').addEventListener('click', () => { slowPlay(false); slowGo(-1); });
  d.slow.querySelector('.gp-slowmo-play').addEventListener('click', () => {
    if (!S.slow) return;
    if (!S.slow.playing && S.slow.stage === S.slow.data.stages.length - 1) { S.slow.stage = 0; slowShow(); }
    slowPlay(!S.slow.playing);
  });
  d.slow.querySelector('.gp-slowmo-leave').addEventListener('click', slowStop);
}

// Dots coloured by D's score (the decision colours) with a rim in the set's colour.
function scoredDots(ctx, pts, scores, lim, size, rim, radius) {
  pts.forEach(([x, y], i) => {
    const [px, py] = toPx(x, y, lim, size);
    const [r, g, b] = decisionColour(scores[i]);
    ctx.beginPath(); ctx.arc(px, py, radius, 0, 2 * Math.PI);
    ctx.fillStyle = `rgb(${r},${g},${b})`; ctx.fill();
    ctx.lineWidth = 2; ctx.strokeStyle = rim; ctx.stroke();
  });
}

// The noise batch in an inset square (top left): z's first two coordinates.
function noiseInset(ctx, zs, span, size) {
  const w = Math.round(size * 0.26), x0 = 6, y0 = 6;
  ctx.save();
  ctx.fillStyle = 'rgba(255,255,255,0.92)'; ctx.fillRect(x0, y0, w, w);
  ctx.strokeStyle = 'rgb(120,120,120)'; ctx.lineWidth = 1; ctx.strokeRect(x0 + 0.5, y0 + 0.5, w, w);
  ctx.fillStyle = 'rgb(90,90,90)'; ctx.font = '10px sans-serif'; ctx.textBaseline = 'top';
  ctx.fillText(`noise z (z1, z2), ±${span}`, x0 + 3, y0 + 2);
  ctx.fillStyle = 'rgba(60,60,60,0.8)';
  for (const [a, b] of zs) {
    const px = x0 + (a / span + 1) / 2 * w, py = y0 + (1 - b / span) / 2 * w;
    ctx.beginPath(); ctx.arc(px, py, 1.8, 0, 2 * Math.PI); ctx.fill();
  }
  ctx.restore();
}

function paintSlow(ctx, size, now) {
  const p = S.slow, data = p.data, key = data.stages[p.stage].key, lim = data.lim;
  const t = Math.min(1, (now - p.t0) / MOVE_MS);
  const order = data.stages.map((s) => s.key);
  const at = (k) => order.indexOf(key) >= order.indexOf(k);
  let heat = p.heatBefore;
  if (key === 'd_update') heat = lerpInto(new Float32Array(heat.length), p.heatBefore, p.heatAfter, t);
  else if (at('d_update')) heat = p.heatAfter;
  ctx.fillStyle = 'rgb(250,250,250)'; ctx.fillRect(0, 0, size, size);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(heatCanvas(heat, data.res, p), 0, 0, size, size);
  drawAxes(ctx, lim, size);
  const FAKE = 'rgb(126,34,206)', REAL = 'rgb(21,148,70)';
  if (!at('g_loss')) {
    const dd = data.d;
    if (at('scores')) {
      const after = key === 'd_update' && t >= 1;
      scoredDots(ctx, dd.fake, after ? dd.fake_scores_after : dd.fake_scores, lim, size, FAKE, 3.5);
      scoredDots(ctx, dd.real, after ? dd.real_scores_after : dd.real_scores, lim, size, REAL, 3.5);
    } else if (at('fake')) {
      drawDots(ctx, dd.fake.flat(), lim, size, FAKE, 3);
    }
    noiseInset(ctx, dd.z, data.z_span, size);
  } else {
    const g = data.g;
    let pts = g.fake;
    if (key === 'g_update') pts = g.fake.map(([x, y], i) => [x + (g.moved[i][0] - x) * t, y + (g.moved[i][1] - y) * t]);
    const sc = key === 'g_update' && t >= 1 ? g.moved_scores : g.scores;
    scoredDots(ctx, pts, sc, lim, size, FAKE, 3.5);
    if (key === 'g_grad' || key === 'g_update') {
      const moves = slowMoves(g.moves);
      drawArrows(ctx, Float32Array.from(g.fake.flat()), moves, lim, size);
    }
    noiseInset(ctx, g.z, data.z_span, size);
  }
  return (key === 'd_update' || key === 'g_update') && t < 1;
}

// G's gradients as the live view's 8-bit arrow code (a typical arrow 64 units long).
function slowMoves(moves) {
  const lengths = moves.map(([a, b]) => Math.hypot(a, b)).sort((a, b) => a - b);
  const typical = lengths[Math.floor(0.95 * (lengths.length - 1))] || 1;
  return Float32Array.from(moves.flat().map((v) => (v / typical) * 64));
}
