// points_box.js: the form's points (dataset "points") as an invisible gr.HTML whose value is
// their JSON ([[x, y], ...], or "" for none). The live view's drawing (draw.js) reads them with
// window.gpPoints.get() and sends a new set with window.gpPoints.set(json), which fires this
// component's `submit` event (the server checks them and switches the dataset to "points").
// When the server writes the value (a CSV upload, Clear, a loaded checkpoint), the page hears
// a "gp-points" event with the new JSON.
window.gpPoints = {
  get: () => (typeof props.value === 'string' ? props.value : ''),
  set: (json) => { props.value = json; trigger('submit'); },
};
watch('value', () => {
  window.dispatchEvent(new CustomEvent('gp-points', {detail: window.gpPoints.get()}));
});
