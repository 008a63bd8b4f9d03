// layers.js: the 2D view's teaching layers beyond GAN Lab's four (playground/layers.py computes
// them; this file only draws). G's manifold (view.manifold: the noise grid's vertices mapped by
// G, one shade per cell), the real density's contour lines (view.contour: segments, one array
// per share of the data they enclose), the optimal discriminator D* beside D's own map
// (view.dstar: 8-bit maps, 255 = no mass there), and the trail of a followed point.

const MANIFOLD_RGB = '123,50,148';
const CONTOUR_STYLE = [[2, 'rgb(6,95,40)', []], [1.4, 'rgb(6,95,40)', []], [1, 'rgb(6,95,40)', [4, 3]]];
const EMPTY_RGB = [215, 215, 215];

// G's manifold: z_dim >= 2, cells x cells quadrilaterals (vertices row-major, (cells+1)^2 of
// them); z_dim 1, a curve of segments. Each shaded by view.manifold's opacity.
function drawManifold(ctx, m, lim, size) {
  const v = m.vertices, shade = m.shade;
  ctx.save();
  if (m.z_dim === 1) {
    ctx.lineWidth = 3;
    ctx.lineCap = 'round';
    for (let i = 0; i + 1 < v.length / 2; i++) {
      const [x0, y0] = toPx(v[2 * i], v[2 * i + 1], lim, size);
      const [x1, y1] = toPx(v[2 * i + 2], v[2 * i + 3], lim, size);
      ctx.strokeStyle = `rgba(${MANIFOLD_RGB},${shade[i].toFixed(3)})`;
      ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(x1, y1); ctx.stroke();
    }
    ctx.restore();
    return;
  }
  const n = m.cells, w = n + 1;
  ctx.lineWidth = 0.5;
  ctx.strokeStyle = 'rgba(160,160,160,0.35)';
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const corners = [i * w + j, i * w + j + 1, (i + 1) * w + j + 1, (i + 1) * w + j];
      ctx.beginPath();
      corners.forEach((k, c) => {
        const [x, y] = toPx(v[2 * k], v[2 * k + 1], lim, size);
        if (c === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
      ctx.closePath();
      ctx.fillStyle = `rgba(${MANIFOLD_RGB},${(0.8 * shade[i * n + j]).toFixed(3)})`;
      ctx.fill();
      ctx.stroke();
    }
  }
  ctx.restore();
}

// Contour lines: lines[k] holds segment ends (x0, y0, x1, y1, ...) for the k-th share.
function drawContours(ctx, contour, lim, size) {
  ctx.save();
  contour.lines.forEach((segs, k) => {
    const [width, colour, dash] = CONTOUR_STYLE[Math.min(k, CONTOUR_STYLE.length - 1)];
    ctx.lineWidth = width; ctx.strokeStyle = colour; ctx.setLineDash(dash);
    ctx.beginPath();
    for (let i = 0; i + 3 < segs.length; i += 4) {
      const [x0, y0] = toPx(segs[i], segs[i + 1], lim, size);
      const [x1, y1] = toPx(segs[i + 2], segs[i + 3], lim, size);
      ctx.moveTo(x0, y0); ctx.lineTo(x1, y1);
    }
    ctx.stroke();
  });
  ctx.restore();
}

// One 8-bit map (row 0 at the top) on a small canvas: scores through the decision colours;
// `empty` codes (D*'s "no mass") in grey.
function drawScoreMap(canvas, codes, res, scale, empty) {
  const tiny = document.createElement('canvas');
  tiny.width = res; tiny.height = res;
  const g = tiny.getContext('2d');
  const img = g.createImageData(res, res);
  for (let i = 0; i < res * res; i++) {
    const rgb = empty !== undefined && codes[i] === empty ? EMPTY_RGB : decisionColour(codes[i] / scale);
    img.data.set([rgb[0], rgb[1], rgb[2], 255], 4 * i);
  }
  g.putImageData(img, 0, 0);
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(tiny, 0, 0, canvas.width, canvas.height);
}

// A followed point: its path so far (oldest faint), and a ring where it is now.
function drawTrail(ctx, trail, lim, size) {
  if (!trail.length) return;
  ctx.save();
  ctx.strokeStyle = 'rgba(234,88,12,0.9)';
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  trail.forEach(([x, y], i) => {
    const [px, py] = toPx(x, y, lim, size);
    if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
  });
  ctx.stroke();
  const [x, y] = trail[trail.length - 1];
  const [px, py] = toPx(x, y, lim, size);
  ctx.lineWidth = 2.5;
  ctx.beginPath(); ctx.arc(px, py, 7, 0, 2 * Math.PI); ctx.stroke();
  ctx.restore();
}

// Decoded extras of a 2D frame's view, ready to draw.
async function takeLayers(v) {
  const out = {};
  if (v.manifold) {
    const [vert, shade] = await Promise.all([unpackArray(v.manifold.vertices), unpackArray(v.manifold.shade)]);
    out.manifold = {...v.manifold, vertices: pointsOf(vert, v.lim), shade: unitOf(shade)};
  }
  if (v.dstar) {
    const [opt, own] = await Promise.all([unpackArray(v.dstar.d_star), unpackArray(v.dstar.d_own)]);
    out.dstar = {...v.dstar, d_star: opt, d_own: own};
  }
  if (v.contour) {
    const lines = await Promise.all(v.contour.lines.map(unpackArray));
    out.contour = {shares: v.contour.shares, lines: lines.map((l) => pointsOf(l, v.lim))};
  }
  if (v.z) {
    const z = await unpackArray(v.z);
    const k = v.z.shape.length > 1 ? v.z.shape[1] : 1;
    out.zinfo = {z: Float32Array.from(z, (c) => c / v.z_scale), k, zDim: v.z_dim, span: v.z_span};
  }
  return out;
}

// D* beside D's own map (S.dstar, when its layer is on), and how far D is from it.
function showDstar() {
  const d = S.dom, x = S.dstar;
  if (!x || !S.layers.dstar) return;
  drawScoreMap(d.dstarOwn, x.d_own, x.res, 255);
  drawScoreMap(d.dstarOpt, x.d_star, x.res, 254, 255);
  d.dstarText.textContent = `The theory's optimal discriminator for today's G (grey: neither the ` +
    `data nor G puts mass there). D is off the optimum by ${x.gap.toFixed(3)} on average where ` +
    `the data and G's samples are (${x.gap_on_data.toFixed(3)} on the data alone); where G ` +
    `matches the data, D* is 1/2.`;
  d.root.dataset.dstarGap = x.gap;
}
