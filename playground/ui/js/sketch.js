// sketch.js: a drawing pad for the Discriminator tab, ready to draw as soon as it loads.
// White ink on black (as MNIST digits are), drawn with the mouse, a pen or a finger; "Clear"
// starts again. After each stroke the drawing goes into the component's value as a PNG data
// URL, which the "Score drawing" button sends to the server (playground/ui/sketch.py).

const pad = element.querySelector('canvas.gp-sketch');
const g = pad.getContext('2d');
const INK = 22;  // brush width in canvas pixels (the canvas is 280 x 280, a digit 28 x 28 x 10)
let drawing = false, last = null, strokes = 0;

function blank() {
  g.fillStyle = 'black';
  g.fillRect(0, 0, pad.width, pad.height);
  strokes = 0;
  element.querySelector('.gp-sketch-host').dataset.strokes = '0';
  props.value = '';
}

function at(e) {
  const r = pad.getBoundingClientRect();
  return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height];
}

function line(a, b) {
  g.strokeStyle = 'white';
  g.lineWidth = INK;
  g.lineCap = 'round';
  g.lineJoin = 'round';
  g.beginPath();
  g.moveTo(a[0], a[1]);
  g.lineTo(b[0], b[1]);
  g.stroke();
}

pad.addEventListener('pointerdown', (e) => {
  drawing = true;
  last = at(e);
  line(last, last);
  pad.setPointerCapture(e.pointerId);
  e.preventDefault();
});
pad.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  const p = at(e);
  line(last, p);
  last = p;
  e.preventDefault();
});
const finish = () => {
  if (!drawing) return;
  drawing = false;
  strokes += 1;
  element.querySelector('.gp-sketch-host').dataset.strokes = String(strokes);
  props.value = pad.toDataURL('image/png');
};
pad.addEventListener('pointerup', finish);
pad.addEventListener('pointercancel', finish);
element.querySelector('.gp-sketch-clear').addEventListener('click', blank);
blank();
