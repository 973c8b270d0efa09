// The layout check tests/browser.rs injects into a copy of each HTML page crashdelta writes. It
// measures the page as the browser laid it out and writes the verdict, as JSON, into a <pre>
// appended to the body, which the test reads back from `chromium --dump-dom`. It looks for:
// - overflow: the page scrolls sideways, or a table, chart or other element sticks out of the
//   body's column instead of scrolling inside a box of its own; on a wide window (WIDE) nothing
//   may need to scroll at all; a table cell's content spills out of the cell;
// - cut: an SVG <text> or mark (a bar, a legend swatch) outside its chart's viewBox, where the SVG
//   clips it;
// - overlap: two labels of a chart on top of each other, or a label over a bar or swatch;
// - colour: one colour for two different series (a configuration, a signature, an outcome) on a
//   page, or two colours for one.
(() => {
  // The body is at most 980 px wide plus its padding: on a window this wide every table and
  // chart fits, so a box that must scroll there is a defect, not a narrow screen.
  const WIDE = 1200;
  const problems = [];
  const add = (kind, what, detail) => problems.push({ kind, what, detail });
  const short = (s) => {
    const t = (s || '').replace(/\s+/g, ' ').trim();
    return t.length > 70 ? t.slice(0, 69) + '…' : t;
  };
  const name = (el) => {
    const tag = el.tagName.toLowerCase();
    if (tag === 'table') {
      const head = el.querySelector('tr');
      return `table (${short(head ? head.textContent : '')})`;
    }
    if (tag === 'svg') return `chart "${el.getAttribute('aria-label') || ''}"`;
    return `${tag} "${short(el.textContent)}"`;
  };
  const px = (v) => Math.round(v * 10) / 10;
  const viewport = document.documentElement.clientWidth;

  // The page itself never scrolls sideways.
  const pageWidth = document.documentElement.scrollWidth;
  if (pageWidth > viewport + 1) {
    add('overflow', 'the page', `scrolls sideways: ${pageWidth} px of content in a ${viewport} px window`);
  }

  // The body's column: what sticks out of it without a scrolling box around it overflows.
  const bodyStyle = getComputedStyle(document.body);
  const bodyBox = document.body.getBoundingClientRect();
  const right = bodyBox.right - parseFloat(bodyStyle.paddingRight) - parseFloat(bodyStyle.borderRightWidth);
  const scrolls = (el) => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  const scrollBox = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (scrolls(p)) return p;
    }
    return null;
  };
  const reported = new Set();
  for (const el of document.body.querySelectorAll('*')) {
    // An SVG's marks are measured against its viewBox below; its box stands for them here.
    if (el.closest('svg') && el.tagName.toLowerCase() !== 'svg') continue;
    const box = scrollBox(el);
    if (box) continue;
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > right + 1) {
      // Report the outermost element that sticks out, not each of its children.
      let p = el.parentElement;
      while (p && !reported.has(p)) p = p.parentElement;
      if (!p) {
        reported.add(el);
        add('overflow', name(el), `right edge at ${px(r.right)} px, past the column's ${px(right)} px`);
      }
    }
  }
  for (const box of new Set([...document.querySelectorAll('table, svg')].map(scrollBox))) {
    if (box && viewport >= WIDE && box.scrollWidth > box.clientWidth + 1) {
      add('overflow', name(box.firstElementChild || box),
        `needs ${box.scrollWidth} px but has ${box.clientWidth} px in a ${viewport} px window`);
    }
  }
  // A table's cells and a chart grid's labels and values hold their content.
  for (const cell of document.querySelectorAll('td, th, .chart > div')) {
    if (cell.scrollWidth > cell.clientWidth + 1) {
      add('overflow', `cell "${short(cell.textContent)}"`, `content ${cell.scrollWidth} px wide in a ${cell.clientWidth} px cell`);
    }
  }

  // Charts: every label and mark inside the viewBox, labels clear of each other and of the marks.
  let texts = document.querySelectorAll('.chart .l:not(:empty)').length;
  for (const svg of document.querySelectorAll('svg')) {
    // Without a viewBox, user units are the SVG's own px.
    const box = svg.getBoundingClientRect();
    const vb = svg.viewBox && svg.viewBox.baseVal && svg.viewBox.baseVal.width
      ? svg.viewBox.baseVal
      : { x: 0, y: 0, width: box.width, height: box.height };
    const chart = name(svg);
    const items = [...svg.querySelectorAll('text, rect')].map((el) => ({ el, b: el.getBBox() }));
    for (const { el, b } of items) {
      const outside = [];
      if (b.x < vb.x - 0.5) outside.push(`left by ${px(vb.x - b.x)}`);
      if (b.x + b.width > vb.x + vb.width + 0.5) outside.push(`right by ${px(b.x + b.width - vb.x - vb.width)}`);
      if (b.y < vb.y - 0.5) outside.push(`top by ${px(vb.y - b.y)}`);
      if (b.y + b.height > vb.y + vb.height + 0.5) outside.push(`bottom by ${px(b.y + b.height - vb.y - vb.height)}`);
      if (outside.length) {
        const what = el.tagName === 'text' ? `label "${short(el.textContent)}"` : `mark "${short(el.getAttribute('data-series') || el.textContent)}"`;
        add('cut', `${chart}: ${what}`, `outside the chart (${outside.join(', ')} px)`);
      }
    }
    const labels = items.filter((i) => i.el.tagName === 'text');
    texts += labels.length;
    const marks = items.filter((i) => i.el.tagName === 'rect');
    const meet = (a, b) =>
      a.x + 0.5 < b.x + b.width && b.x + 0.5 < a.x + a.width && a.y + 0.5 < b.y + b.height && b.y + 0.5 < a.y + a.height;
    labels.forEach((a, i) => {
      for (const b of labels.slice(i + 1)) {
        if (meet(a.b, b.b)) {
          add('overlap', `${chart}: label "${short(a.el.textContent)}"`, `overlaps label "${short(b.el.textContent)}"`);
        }
      }
      for (const m of marks) {
        if (meet(a.b, m.b)) {
          add('overlap', `${chart}: label "${short(a.el.textContent)}"`, `overlaps mark "${short(m.el.getAttribute('data-series'))}"`);
        }
      }
    });
  }

  // Colours: a series (data-series) has one colour on the page, and no other series has it. A
  // mark is an SVG shape (its fill) or an HTML swatch (its background).
  const fills = new Map();
  const owners = new Map();
  for (const el of document.querySelectorAll('[data-series]')) {
    const series = el.getAttribute('data-series');
    const style = getComputedStyle(el);
    const fill = el instanceof SVGElement ? style.fill : style.backgroundColor;
    if (!fills.has(series)) fills.set(series, new Set());
    fills.get(series).add(fill);
    if (!owners.has(fill)) owners.set(fill, new Set());
    owners.get(fill).add(series);
  }
  for (const [series, set] of fills) {
    if (set.size > 1) add('colour', `series "${short(series)}"`, `drawn in ${set.size} colours: ${[...set].join(', ')}`);
  }
  for (const [fill, set] of owners) {
    if (set.size > 1) {
      add('colour', `colour ${fill}`, `shared by ${set.size} series: ${[...set].slice(0, 4).map((s) => `"${short(s)}"`).join(', ')}${set.size > 4 ? ', …' : ''}`);
    }
  }

  const verdict = {
    width: viewport,
    height: document.documentElement.scrollHeight,
    measured: {
      charts: document.querySelectorAll('svg').length,
      labels: texts,
      tables: document.querySelectorAll('table').length,
      series: fills.size,
    },
    problems,
  };
  // ASCII only and no markup characters, so the text node serialises as it is in --dump-dom.
  const json = JSON.stringify(verdict).replace(/[<>&\u007f-\uffff]/g,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
  // The page runs in an <iframe srcdoc> of the width under test (a headless window is at least
  // 500 px wide): the verdict goes to the frame's parent, the document --dump-dom prints.
  const host = window.frameElement ? window.frameElement.ownerDocument : document;
  const out = host.createElement('pre');
  out.id = 'crashdelta-layout-verdict';
  out.textContent = json;
  host.body.appendChild(out);
})();
