// paint.js: the live view's painting (runs before live.js, in the same js_on_load; it reads
// the view's state S that live.js holds). Between two fresh frames the 2D scene (points,
// arrows, manifold, heat map) is interpolated at display rate (sceneAt), a digit grid fades
// to its next pixels, and the "noise becomes samples" animation plays for G_ANIMATION_MS
// after a hover on G. paint() runs once per animation frame only while something moves:
// requestPaint() asks for the next one.
const G_ANIMATION_MS = 2000;

function sceneAt(now) {
  if (!S.to) return null;
  const t = S.dur > 0 ? Math.min(1, (now - S.t0) / S.dur) : 1;
  if (t >= 1 || !S.from.fake) return S.to;
  const a = S.from, b = S.to;
  const m = b.manifold && a.manifold && a.manifold.vertices.length === b.manifold.vertices.length
    ? {...b.manifold, vertices: lerpInto(new Float32Array(b.manifold.vertices.length),
                                         a.manifold.vertices, b.manifold.vertices, t)}
    : b.manifold;
  return {lim: b.lim, real: b.real, res: b.res, scores: b.scores, moveScale: b.moveScale, manifold: m,
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
  const gAnimation = S.hoverG && now - S.hoverG < G_ANIMATION_MS ? (now - S.hoverG) / G_ANIMATION_MS : -1;
  if (S.draw.on) {
    paintDrawing(ctx, side);
  } else if (S.slow) {
    animating = paintSlow(ctx, side, now);
  } else if (S.kind === '2d' && S.to) {
    let scene = sceneAt(now);
    if (gAnimation >= 0 && scene.fake && S.zinfo) scene = noiseToSamples(scene, gAnimation);
    drawScene2d(ctx, side, scene, S.layers, S.heatCache);
    animating = (S.dur > 0 && now - S.t0 < S.dur) || gAnimation >= 0;
  } else if (S.kind === 'images' && S.grid) {
    const g = S.grid;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    const layout = {...g.layout, scale: d.canvas.width / g.layout.nativeW};
    drawGrid(ctx, g.prev, layout);
    let t = g.dur > 0 ? Math.min(1, (now - g.t0) / g.dur) : 1;
    if (gAnimation >= 0) { noisePicture(ctx, d.canvas.width, d.canvas.height); t = gAnimation; }
    if (t > 0 && (g.next !== g.prev || gAnimation >= 0)) {
      ctx.globalAlpha = t; ctx.drawImage(g.next, 0, 0, d.canvas.width, d.canvas.height); ctx.globalAlpha = 1;
    }
    animating = t < 1;
  } else {
    ctx.fillStyle = 'rgb(250,250,250)';
    ctx.fillRect(0, 0, side, d.canvas.height / dpr);
  }
  if (!S.slow && S.state === 'training') { overviewPulse(d.root, now); animating = true; }
  S.paints += 1;
  d.root.dataset.paints = S.paints;
  if (animating) requestPaint();
}

// The 2D view with its extra layers (view2d.js draws GAN Lab's four).
function drawScene2d(ctx, size, scene, layers, cache) {
  ctx.fillStyle = 'rgb(250,250,250)';
  ctx.fillRect(0, 0, size, size);
  if (layers.heatmap && scene.heat) {
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(heatCanvas(scene.heat, scene.res, cache), 0, 0, size, size);
  }
  drawAxes(ctx, scene.lim, size);
  const m = layers.manifold && scene.manifold;
  if (m) drawManifold(ctx, m, scene.lim, size);
  S.dom.root.dataset.manifold = m ? `${m.z_dim}:${m.axes.join(',')}` : '';
  if (layers.contour && S.contour) drawContours(ctx, S.contour, scene.lim, size);
  // Generated points under the real ones: tight real modes stay visible under a cloud.
  if (layers.fake && scene.fake) drawDots(ctx, scene.fake, scene.lim, size, FAKE_RGB, 2.5);
  if (layers.real && scene.real) drawDots(ctx, scene.real, scene.lim, size, REAL_RGB, 3.5);
  if (layers.arrows && scene.fake && scene.moves) drawArrows(ctx, scene.fake, scene.moves, scene.lim, size);
  if (S.follow >= 0) drawTrail(ctx, S.trail, scene.lim, size);
}

