// decode.js: frame payloads (playground/frames.py `pack`) back into typed arrays.
// A payload is {b64, z, dtype, shape}: little-endian bytes, deflated first when `z` is set
// (the browser inflates them with DecompressionStream: no library needed).

const ARRAY_TYPES = {uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array};

async function unpackArray(p) {
  let bytes = Uint8Array.from(atob(p.b64), (c) => c.charCodeAt(0));
  if (p.z) {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
    bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  }
  const T = ARRAY_TYPES[p.dtype];
  return new T(bytes.buffer, bytes.byteOffset, bytes.byteLength / T.BYTES_PER_ELEMENT);
}

// 16-bit point codes over [-2 lim, 2 lim] -> data coordinates, as a Float32Array (x0, y0, ...).
function pointsOf(codes, lim) {
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = (codes[i] / 65535 - 0.5) * 4 * lim;
  return out;
}

// 8-bit scores -> [0, 1].
function unitOf(codes) {
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = codes[i] / 255;
  return out;
}

// Linear interpolation of two equal-length arrays into `out` (t in [0, 1]).
function lerpInto(out, a, b, t) {
  for (let i = 0; i < out.length; i++) out[i] = a[i] + (b[i] - a[i]) * t;
  return out;
}
