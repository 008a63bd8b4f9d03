// charts.js: the two curve charts (frame.curves), drawn with the vendored uPlot.
// Losses of D and G, and mean D(x) / D(G(z)), by step. Hover shows the step and every value
// (uPlot's legend), drag selects a range to zoom into, double-click resets. Dashed marks show
// where a setting changed (frame.marks); their labels go on the first free row so that close
// marks never print over each other.

const CHART_SERIES = {
  loss: [['loss D', '#2563eb'], ['loss G', '#ea580c']],
  score: [['D(x) real', '#16803d'], ['D(G(z)) fake', '#7e22ce']],
};
const MARK_ROWS = 3;

function marksPlugin(getMarks) {
  return {hooks: {draw: [(u) => {
    const marks = getMarks();
    if (!marks.length) return;
    const ctx = u.ctx, {left, top, width, height} = u.bbox, dpr = devicePixelRatio || 1;
    ctx.save();
    ctx.font = `${10 * dpr}px sans-serif`;
    ctx.textAlign = 'left';  // uPlot leaves its own alignment from drawing the axes
    ctx.textBaseline = 'top';
    ctx.setLineDash([4 * dpr, 4 * dpr]);
    ctx.strokeStyle = 'rgb(150,150,150)';
    const rowEnds = new Array(MARK_ROWS).fill(-Infinity);
    for (const [step, text] of marks) {
      const x = u.valToPos(step, 'x', true);
      if (x < left || x > left + width) continue;
      ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + height); ctx.stroke();
      const w = ctx.measureText(text).width;
      const row = rowEnds.findIndex((end) => end + 6 * dpr < x);
      if (row < 0 || x + 3 * dpr + w > left + width) continue;  // the list below names it
      const y = top + (2 + 12 * row) * dpr;
      ctx.fillStyle = 'rgba(255,255,255,0.85)';
      ctx.fillRect(x + 2 * dpr, y - dpr, w + 2 * dpr, 11 * dpr);
      ctx.fillStyle = 'rgb(80,80,80)';
      ctx.fillText(text, x + 3 * dpr, y);
      rowEnds[row] = x + 3 * dpr + w;
    }
    ctx.restore();
  }]}};
}

function makeChart(kind, host, getMarks, onZoom) {
  const width = Math.max(260, host.clientWidth || 420);
  const opts = {
    width, height: 200,
    scales: {x: {time: false}, y: kind === 'score' ? {range: [0, 1]} : {}},
    axes: [{label: 'step'}, {size: 44}],
    series: [{label: 'step', value: (u, v) => (v == null ? '–' : v.toLocaleString())}].concat(
      CHART_SERIES[kind].map(([label, stroke]) => ({
        label, stroke, width: 2, spanGaps: true,
        value: (u, v) => (v == null ? '–' : v.toPrecision(4)),
      }))),
    cursor: {drag: {x: true, y: false}},
    legend: {live: true},
    plugins: [marksPlugin(getMarks)],
    hooks: {setSelect: [(u) => { if (u.select.width > 0) onZoom(true); }]},
  };
  const u = new uPlot(opts, [[], [], []], host);
  u.over.addEventListener('dblclick', () => onZoom(false));
  return u;
}

// Append frame.curves to `data` ([steps, a, b] columns for each chart); "from" -1 = all anew.
function addCurves(store, curves) {
  if (!curves) return false;
  if (curves.from === -1) {
    for (const k of Object.keys(store)) store[k] = [];
  }
  if (!curves.step.length) return curves.from === -1;
  const add = (key, values) => { store[key] = store[key].concat(values); };
  add('step', curves.step);
  add('loss_d', curves.loss_d); add('loss_g', curves.loss_g);
  add('d_real', curves.d_real); add('d_fake', curves.d_fake);
  return true;
}

// The quality series of a 2D run (frame.quality rows: [step, KL, JS, high quality %, modes,
// modes in all]): KL and JS divergence (nats, GAN Lab's metric, on a 50 x 50 grid) on the left
// axis, the share of high-quality samples (%) on the right.
function makeQualityChart(host) {
  const width = Math.max(260, host.clientWidth || 420);
  const value = (digits) => (u, v) => (v == null ? '–' : v.toFixed(digits));
  const opts = {
    width, height: 200,
    scales: {x: {time: false}, y: {range: (u, lo, hi) => [0, Math.max(0.1, hi)]}, pct: {range: [0, 100]}},
    axes: [{label: 'step'}, {size: 44, label: 'nats'}, {side: 1, scale: 'pct', size: 40, grid: {show: false},
                                                          label: '% high quality'}],
    series: [{label: 'step', value: (u, v) => (v == null ? '–' : v.toLocaleString())},
             {label: 'KL(real‖G)', stroke: '#dc5014', width: 2, spanGaps: true, value: value(3)},
             {label: 'JS', stroke: '#c8960a', width: 2, spanGaps: true, value: value(3)},
             {label: 'high quality %', stroke: '#16803d', width: 1.5, dash: [5, 3], scale: 'pct',
              spanGaps: true, value: value(1)}],
    cursor: {drag: {x: true, y: false}},
    legend: {live: true},
  };
  const u = new uPlot(opts, [[], [], [], []], host);
  u.over.addEventListener('dblclick', () => u.setData(u.data, true));
  return u;
}

// The quality rows of a frame (frame.quality: {from, rows}) into the chart and its words.
function takeQuality(q) {
  if (q.from === 0) S.quality = [];
  S.quality = S.quality.concat(q.rows);
  const rows = S.quality, u = S.charts.quality;
  if (!u) return;
  u.setData([rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]), rows.map((r) => r[3])]);
  const last = rows[rows.length - 1];
  S.dom.quality.dataset.points = rows.length;
  S.dom.qualityNote.textContent = last ? qualityWords(last) : '';
  S.dom.quality.dataset.kl = last ? last[1] : '';
  S.dom.quality.dataset.js = last ? last[2] : '';
}
