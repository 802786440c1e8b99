// placeholder so the build has an entry point; replaced by the progress view
function render({ el }) {
  el.classList.add("k1w-progress");
  return () => {};
}
export default { render };
