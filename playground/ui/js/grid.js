// grid.js: the fixed-noise grid of images, drawn pixel-exact (nearest-neighbour scaling).
// frame.view.grid holds N images (C, H, W) as 8-bit pixels; they are laid out 8 to a row with
// a 2-pixel gap at their own size on a small canvas, then enlarged by a whole factor.

const GRID_COLUMNS = 8;
const GRID_GAP = 2;

function gridLayout(shape, width) {
  const [n, , h, w] = shape;
  const cols = Math.min(GRID_COLUMNS, n), rows = Math.ceil(n / cols);
  const nativeW = cols * (w + GRID_GAP) + GRID_GAP, nativeH = rows * (h + GRID_GAP) + GRID_GAP;
  const scale = Math.max(1, Math.floor(width / nativeW));
  return {n, h, w, cols, rows, nativeW, nativeH, scale};
}

// Pixels (Uint8Array or Float32Array, N*C*H*W in 0..255) -> a native-size canvas.
function gridCanvas(pixels, shape, layout, canvas) {
  const [n, c, h, w] = shape;
  canvas = canvas || document.createElement('canvas');
  canvas.width = layout.nativeW; canvas.height = layout.nativeH;
  const g = canvas.getContext('2d');
  const img = g.createImageData(layout.nativeW, layout.nativeH);
  img.data.fill(255);
  for (let k = 0; k < n; k++) {
    const left = GRID_GAP + (k % layout.cols) * (w + GRID_GAP);
    const top = GRID_GAP + Math.floor(k / layout.cols) * (h + GRID_GAP);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const o = 4 * ((top + y) * layout.nativeW + left + x);
        for (let ch = 0; ch < 3; ch++) {
          const src = ((k * c + (c === 1 ? 0 : ch)) * h + y) * w + x;
          img.data[o + ch] = pixels[src];
        }
      }
    }
  }
  g.putImageData(img, 0, 0);
  return canvas;
}

function drawGrid(ctx, native, layout) {
  ctx.imageSmoothingEnabled = false;  // pixel-exact: no blur
  ctx.fillStyle = 'white';
  ctx.fillRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  ctx.drawImage(native, 0, 0, layout.nativeW * layout.scale, layout.nativeH * layout.scale);
}

// The tile under canvas pixel (px, py), or -1.
function tileAt(layout, px, py) {
  const s = layout.scale;
  const col = Math.floor((px / s - GRID_GAP / 2) / (layout.w + GRID_GAP));
  const row = Math.floor((py / s - GRID_GAP / 2) / (layout.h + GRID_GAP));
  const k = row * layout.cols + col;
  return col >= 0 && col < layout.cols && row >= 0 && k < layout.n ? k : -1;
}
