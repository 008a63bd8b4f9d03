// words.js: what the live view says in words (after live.js's state S exists at run time):
// the progress bar and status line, the alerts, the marks of live edits, which panels show for
// this kind of frame, the caption under the view, and the quality series' latest row.

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
  const flat = f.kind === '2d';
  d.layers.hidden = !flat;
  d.tools.hidden = !flat && !S.draw.on;
  d.quality.hidden = !flat || (f.view && f.view.preview);
  d.qualityNote.hidden = d.quality.hidden;
  d.dstar.hidden = !(flat && S.layers.dstar);
  const zDim = S.zinfo ? S.zinfo.zDim : 0;
  d.axes.hidden = !(flat && zDim > 2);
  if (zDim > 2) { d.axisA.max = zDim; d.axisB.max = zDim; }
  d.caption.textContent = caption(f);
}

function caption(f) {
  if (f.kind === 'none') return 'Press Train: the real data and G\'s samples will appear here.';
  if (f.view && f.view.preview) {
    return f.kind === '2d' ? 'The real data: green points drawn from the distribution G must learn.'
      : 'Real images from the training set: what G must learn to imitate.';
  }
  if (f.kind === '2d') {
    const m = S.to && S.to.manifold;
    return 'Green: real points · purple: generated (the same 512 noise vectors throughout) · ' +
      'background: D\'s verdict (green "real", purple "fake", white "can\'t tell") · arrows: ' +
      'where the next G step pushes each point. Hover a point for its numbers, click it to ' +
      'follow it.' + (S.layers.manifold && m ? ` ${m.caption} (darker: G packs more noise there).` : '') +
      (S.layers.contour ? ' Dark green lines: the real density, enclosing 50, 90 and 99 % of the data.' : '');
  }
  return 'The same 64 noise vectors (seeds 0-63) drawn through G as it learns. Hover an image ' +
    'for its seed and D\'s score.';
}

function duration(s) {
  s = Math.floor(s);
  return s >= 60 ? `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s` : `${s} s`;
}

// A quality row in words: [step, KL, JS, high quality %, modes (or % of your points), modes].
function qualityWords([step, kl, js, hq, modes, total]) {
  let words = `Step ${step.toLocaleString('en')}: KL ${kl.toFixed(3)}, JS ${js.toFixed(3)} nats`;
  if (total != null) words += ` · ${modes}/${total} modes`;
  else if (modes != null) words += ` · ${modes.toFixed(0)} % of your points reached`;
  if (hq != null) words += ` · ${hq.toFixed(0)} % high quality`;
  return words + ' (2,500 samples, about once a second while it trains).';
}
