// pointer.js: what the mouse does on the live view. Hover a generated point for its noise z
// (frame.view.z: the first coordinates of each point's z), where it is, D's score there and
// where G's next step pushes it; click it to follow it through the next steps (its trail, and
// a read-out under the view); click it again, or elsewhere, to stop. Hover a digit for its seed
// and D's score. On the overview graph, hovering G plays noise turning into samples here
// (`noiseToSamples`, `noisePicture`). When drawing (draw.js), the pointer draws instead.

function zWords(i) {
  const z = S.zinfo;
  if (!z || i * z.k >= z.z.length) return '';
  const shown = Array.from(z.z.slice(i * z.k, (i + 1) * z.k), (v) => v.toFixed(2));
  return ` · z = (${shown.join(', ')}${z.zDim > z.k ? ', …' : ''})${z.zDim > z.k ? ` (${z.zDim} numbers)` : ''}`;
}

function hover(e) {
  const d = S.dom, f = S.frame;
  if (S.draw.on || S.slow) { d.tip.hidden = true; return; }
  const rect = d.canvas.getBoundingClientRect();
  const px = e.clientX - rect.left, py = e.clientY - rect.top;
  let words = '';
  if (S.kind === '2d' && S.to && S.to.fake) {
    const scene = sceneAt(performance.now());
    const i = nearestPoint(scene, px, py, rect.width, 8);
    if (i >= 0) {
      const [dx, dy] = [scene.moves[2 * i] * scene.moveScale, scene.moves[2 * i + 1] * scene.moveScale];
      words = `generated point ${i} (noise seed ${i}) at (${scene.fake[2 * i].toFixed(3)}, ` +
        `${scene.fake[2 * i + 1].toFixed(3)})${zWords(i)} · D says ${scene.scores[i].toFixed(3)} · ` +
        `G's gradient pushes it by (${dx.toExponential(2)}, ${dy.toExponential(2)}) · click to follow it`;
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
    d.tip.style.left = Math.min(px + 12, rect.width - 200) + 'px';
    d.tip.style.top = (py + 14) + 'px';
  }
  if (f) d.root.dataset.hover = words;
}

function follow(e) {
  if (S.kind !== '2d' || !S.to || !S.to.fake || S.slow) return;
  const rect = S.dom.canvas.getBoundingClientRect();
  const scene = sceneAt(performance.now());
  const i = nearestPoint(scene, e.clientX - rect.left, e.clientY - rect.top, rect.width, 8);
  if (i < 0 || i === S.follow) {
    S.follow = -1; S.trail = [];
  } else {
    S.follow = i;
    S.trail = [[scene.fake[2 * i], scene.fake[2 * i + 1], S.frame ? S.frame.step : 0, scene.scores[i]]];
  }
  followWords();
  requestPaint();
}

function followWords() {
  const d = S.dom;
  d.root.dataset.follow = S.follow;
  d.root.dataset.trail = S.trail.length;
  if (S.follow < 0 || !S.trail.length) { d.follow.textContent = ''; return; }
  const [x, y, step, score] = S.trail[S.trail.length - 1];
  const [x0, y0, step0] = S.trail[0];
  d.follow.textContent = `Following point ${S.follow}: at step ${step.toLocaleString('en')} it is at ` +
    `(${x.toFixed(3)}, ${y.toFixed(3)}), D says ${score.toFixed(3)}; since step ` +
    `${step0.toLocaleString('en')} it moved ${Math.hypot(x - x0, y - y0).toFixed(3)} ` +
    `(${S.trail.length} positions). Click it again to stop.`;
}

function pointerWire(d) {
  const c = d.canvas;
  c.addEventListener('pointerdown', (e) => { drawDown(e); });
  c.addEventListener('pointermove', (e) => { if (!drawMove(e)) hover(e); });
  c.addEventListener('pointerup', (e) => { if (!drawUp(e)) follow(e); });
  c.addEventListener('mouseleave', () => { d.tip.hidden = true; });
}

// Noise turning into samples (hovering G): each point starts at its z (the first two
// coordinates, the noise square scaled to the view) and glides to G(z).
function noiseToSamples(scene, t) {
  const z = S.zinfo, n = scene.fake.length / 2, scale = 0.9 * scene.lim / Math.max(1, z.span);
  const ease = t < 0.25 ? 0 : Math.min(1, (t - 0.25) / 0.6);
  const fake = new Float32Array(scene.fake.length);
  for (let i = 0; i < n; i++) {
    const zx = z.z[i * z.k] * scale, zy = z.k > 1 ? z.z[i * z.k + 1] * scale : 0;
    fake[2 * i] = zx + (scene.fake[2 * i] - zx) * ease;
    fake[2 * i + 1] = zy + (scene.fake[2 * i + 1] - zy) * ease;
  }
  return {...scene, fake, moves: null};
}

// Images: a picture of noise, under the samples fading in.
function noisePicture(ctx, w, h) {
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < w * h; i++) {
    const v = Math.random() * 255;
    img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v; img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}
