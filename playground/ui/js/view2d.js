// view2d.js: GAN Lab's layered picture of a 2D GAN, on a canvas.
// Layers, each switchable: D's decision map (frame.view.heat: green = "real", purple = "fake",
// white = can't tell), the real points (view.real), the generated points (view.fake) and G's
// gradient arrows (view.moves: where one generator step pushes each point). `scene` holds the
// interpolated arrays being shown; the colours match playground/plots.py. live.js puts the
// layers together (drawScene2d), with the extra ones of layers.js.

const REAL_RGB = 'rgb(21,148,70)';
const FAKE_RGB = 'rgb(126,34,206)';
const DIVERGING = [[0, 167, 139, 250], [0.5, 255, 255, 255], [1, 110, 231, 183]];
const MAX_ARROWS = 160;

function decisionColour(v) {
  v = Math.min(1, Math.max(0, v));
  const [a, b] = v <= 0.5 ? [DIVERGING[0], DIVERGING[1]] : [DIVERGING[1], DIVERGING[2]];
  const t = (v - a[0]) / (b[0] - a[0]);
  return [0, 1, 2].map((c) => Math.round(a[c + 1] + (b[c + 1] - a[c + 1]) * t));
}

// The heat map as a tiny canvas (one pixel per score), enlarged smoothly when drawn.
function heatCanvas(heat, res, cache) {
  const c = cache.canvas || (cache.canvas = document.createElement('canvas'));
  c.width = res; c.height = res;
  const g = c.getContext('2d');
  const img = g.createImageData(res, res);
  for (let i = 0; i < res * res; i++) {
    const [r, gg, b] = decisionColour(heat[i]);
    img.data[4 * i] = r; img.data[4 * i + 1] = gg; img.data[4 * i + 2] = b; img.data[4 * i + 3] = 255;
  }
  g.putImageData(img, 0, 0);
  return c;
}

function toPx(x, y, lim, size) {
  return [(x + lim) / (2 * lim) * size, (lim - y) / (2 * lim) * size];
}

// Dots with a white rim: every rim first, then every fill, so that where dots pile up (a tight
// mode) the colour shows, not a tangle of white outlines.
function drawDots(ctx, pts, lim, size, colour, radius) {
  ctx.beginPath();
  for (let i = 0; i < pts.length; i += 2) {
    const [px, py] = toPx(pts[i], pts[i + 1], lim, size);
    ctx.moveTo(px + radius, py);
    ctx.arc(px, py, radius, 0, 2 * Math.PI);
  }
  ctx.strokeStyle = 'white';
  ctx.lineWidth = 2;
  ctx.stroke();
  ctx.fillStyle = colour;
  ctx.fill();
}

function drawArrows(ctx, pts, moves, lim, size) {
  const n = pts.length / 2;
  const every = Math.max(1, Math.ceil(n / MAX_ARROWS));
  const unit = 0.07 * size / 64;  // a typical move (64 in the 8-bit code) is 7 % of the view
  ctx.strokeStyle = 'rgb(30,30,30)';
  ctx.fillStyle = 'rgb(30,30,30)';
  ctx.lineWidth = 1;
  for (let i = 0; i < n; i += every) {
    let dx = moves[2 * i] * unit, dy = -moves[2 * i + 1] * unit;
    const len = Math.hypot(dx, dy);
    if (len < 1.5) continue;
    const cap = Math.min(1, 0.1 * size / len);
    dx *= cap; dy *= cap;
    const [x, y] = toPx(pts[2 * i], pts[2 * i + 1], lim, size);
    const ex = x + dx, ey = y + dy, l = Math.hypot(dx, dy);
    const ux = dx / l, uy = dy / l, head = Math.min(5, 0.5 * l);
    ctx.beginPath();
    ctx.moveTo(x, y); ctx.lineTo(ex, ey); ctx.stroke();
    ctx.beginPath();
    ctx.moveTo(ex, ey);
    ctx.lineTo(ex - head * (ux - 0.5 * uy), ey - head * (uy + 0.5 * ux));
    ctx.lineTo(ex - head * (ux + 0.5 * uy), ey - head * (uy - 0.5 * ux));
    ctx.fill();
  }
}

function drawAxes(ctx, lim, size) {
  ctx.strokeStyle = 'rgb(200,200,200)';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(0, size / 2); ctx.lineTo(size, size / 2);
  ctx.moveTo(size / 2, 0); ctx.lineTo(size / 2, size);
  ctx.stroke();
  ctx.strokeStyle = 'rgb(160,160,160)';
  ctx.strokeRect(0.5, 0.5, size - 1, size - 1);
  ctx.fillStyle = 'rgb(90,90,90)';
  ctx.font = '11px sans-serif';
  ctx.textBaseline = 'top';
  const label = String(+lim.toFixed(2));
  ctx.fillText('-' + label, 4, size / 2 + 3);
  ctx.fillText(label, size - 4 - ctx.measureText(label).width, size / 2 + 3);
  ctx.fillText(label, size / 2 + 4, 3);
}

// The generated point nearest to canvas pixel (px, py), within `radius` px; its index or -1.
function nearestPoint(scene, px, py, size, radius) {
  if (!scene.fake) return -1;
  let best = -1, bestD = radius * radius;
  for (let i = 0; i < scene.fake.length / 2; i++) {
    const [x, y] = toPx(scene.fake[2 * i], scene.fake[2 * i + 1], scene.lim, size);
    const d = (x - px) ** 2 + (y - py) ** 2;
    if (d < bestD) { bestD = d; best = i; }
  }
  return best;
}
