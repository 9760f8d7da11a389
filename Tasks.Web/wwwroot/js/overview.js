// The Overview's charts (Pages/Index.cshtml): uPlot drawing the JSON of /?handler=Series. A file, not an inline
// script, as the Content-Security-Policy wants. Fetched again on a range switch and every data-refresh seconds,
// resized with the page, redrawn in the colours of a changed colour scheme. After each draw the section's data-range,
// data-points, data-from, data-to and data-step say what is shown (the tests compare them with /api/v1/snapshots).
(function () {
  'use strict';
  const section = document.getElementById('charts');
  if (!section || typeof uPlot === 'undefined') return;
  const url = section.dataset.seriesUrl;
  const every = Math.max(1, Number(section.dataset.refresh) || 5) * 1000;
  const status = document.getElementById('chart-status');
  const boxes = { throughput: document.getElementById('throughput-chart'), failures: document.getElementById('failures-chart') };
  const charts = {};
  let data = null;
  let asked = 0;

  const range = () => (section.querySelector('input[name=range]:checked') || { value: 'hour' }).value;
  const width = box => Math.max(200, box.clientWidth);
  const height = box => (box.clientWidth < 500 ? 160 : 220);

  function colours() {
    const style = getComputedStyle(document.documentElement);
    const get = name => style.getPropertyValue(name).trim();
    return { muted: get('--muted'), line: get('--line'), ok: get('--ok'), bad: get('--bad'), warn: get('--warn') };
  }

  function options(kind, box, c) {
    const axis = { stroke: c.muted, grid: { stroke: c.line, width: 1 }, ticks: { stroke: c.line, width: 1 } };
    // Bars: each is one step's count, and a step without snapshots is no bar, not a line drawn across the gap. The
    // second series' bars are narrower, so both show where they overlap.
    const bar = (label, colour, size) =>
      ({ label, stroke: colour, width: 1, fill: colour + '88', paths: uPlot.paths.bars({ size: [size, 24] }), points: { show: false } });
    return {
      width: width(box), height: height(box),
      series: kind === 'throughput' ? [{}, bar('Succeeded', c.ok, 0.8)] : [{}, bar('Failed', c.bad, 0.8), bar('Retried', c.warn, 0.4)],
      axes: [axis, axis],
      // The whole range, however few steps have snapshots: an hour looks like an hour even with a minute of data.
      scales: { x: { time: true, range: () => [Date.parse(data.from) / 1000, Date.parse(data.to) / 1000] }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
      cursor: { drag: { x: false, y: false } },
    };
  }

  function values(kind) {
    return kind === 'throughput' ? [data.at, data.succeeded] : [data.at, data.failed, data.retried];
  }

  // Made anew when the range or the colours change; otherwise only given new data.
  function draw(rebuild) {
    const c = colours();
    for (const kind of Object.keys(boxes)) {
      if (rebuild || !charts[kind]) {
        if (charts[kind]) charts[kind].destroy();
        charts[kind] = new uPlot(options(kind, boxes[kind], c), values(kind), boxes[kind]);
      } else {
        charts[kind].setData(values(kind));
      }
    }
    const step = data.stepSeconds >= 60 ? (data.stepSeconds / 60).toFixed(0) + ' min' : data.stepSeconds + ' s';
    status.textContent = data.at.length + (data.at.length === 1 ? ' point' : ' points') + ', one per ' + step + '.';
    Object.assign(section.dataset, { range: data.range, points: String(data.at.length), from: data.from, to: data.to, step: String(data.stepSeconds) });
  }

  async function load() {
    const wanted = range();
    const mine = ++asked;
    try {
      const response = await fetch(url + '&range=' + encodeURIComponent(wanted), { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
      if (!response.ok) throw new Error('HTTP ' + response.status);
      const next = await response.json();
      if (mine !== asked) return; // a later request (a switch) answers instead
      const rebuild = !data || data.range !== next.range;
      data = next;
      draw(rebuild);
    } catch (e) {
      if (mine === asked) status.textContent = 'The charts could not be refreshed (' + e.message + ').';
    }
  }

  section.addEventListener('change', e => { if (e.target.name === 'range') load(); });
  new ResizeObserver(() => {
    for (const kind of Object.keys(charts)) charts[kind].setSize({ width: width(boxes[kind]), height: height(boxes[kind]) });
  }).observe(section);
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => { if (data) draw(true); });
  setInterval(() => { if (!document.hidden) load(); }, every);
  load();
})();
