// Accessibility checks run inside the page by a11y.go. It defines window.__a11y; every entry
// returns plain JSON: problems as {check, element, detail}.
window.__a11y = window.__a11y || (() => {
  const INTERACTIVE = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]';
  const NATIVE = 'a[href], button, input, select, textarea, summary';
  const problem = (check, el, detail) => ({check, element: el ? describe(el) : 'document', detail});

  // describe names an element: tag, id or name, classes, and a short text.
  const describe = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    else if (el.getAttribute('name')) s += '[name=' + el.getAttribute('name') + ']';
    if (el.classList.length) s += '.' + [...el.classList].join('.');
    let text = (el.innerText || el.getAttribute('aria-label') || el.getAttribute('placeholder') || '');
    text = text.replace(/\s+/g, ' ').trim();
    if (text) s += ' "' + (text.length > 40 ? text.slice(0, 39) + '…' : text) + '"';
    else if (el.cellIndex >= 0) s += ` (column ${el.cellIndex + 1})`;
    return s;
  };

  // shown: laid out, not hidden, not transparent.
  const shown = (el) => el.getClientRects().length > 0 && el.checkVisibility({visibilityProperty: true, opacityProperty: true});
  // rendered: shown and not hidden from assistive technology, so it needs a name.
  const rendered = (el) => shown(el) && !el.closest('[aria-hidden=true]');
  // visible: shown and on the page, not moved off it (as a skip link waiting for focus is).
  const visible = (el) => {
    if (!shown(el)) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.right + window.scrollX > 0 && r.bottom + window.scrollY > 0;
  };
  const disabled = (el) => el.matches(':disabled') || !!el.closest('fieldset:disabled, [aria-disabled=true]');
  const squash = (s) => (s || '').replace(/\s+/g, ' ').trim();

  // ownName is what names an element besides its content: labels, ARIA, title.
  const ownName = (el) => {
    const parts = [];
    for (const l of el.labels || []) parts.push(l.textContent);
    parts.push(el.getAttribute('aria-label'));
    for (const id of squash(el.getAttribute('aria-labelledby')).split(' ').filter(Boolean)) {
      const ref = document.getElementById(id);
      if (ref) parts.push(ref.textContent);
    }
    parts.push(el.getAttribute('title'));
    return squash(parts.join(' '));
  };
  const contentName = (el) => {
    const parts = [el.textContent];
    for (const img of el.querySelectorAll('img[alt]')) parts.push(img.alt);
    if (el.matches('input[type=submit], input[type=button], input[type=reset]')) parts.push(el.value);
    return squash(parts.join(' '));
  };

  // Colours: computed colours parse as rgb()/rgba(); anything else is reported.
  const parse = (c) => {
    const m = /^rgba?\(([^)]*)\)$/.exec(c.trim());
    if (!m) return null;
    const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const over = (top, bottom) => ({
    r: top.r * top.a + bottom.r * (1 - top.a), g: top.g * top.a + bottom.g * (1 - top.a),
    b: top.b * top.a + bottom.b * (1 - top.a), a: 1,
  });
  const WHITE = {r: 255, g: 255, b: 255, a: 1};
  // background is the opaque colour behind an element: the background colours from it up to
  // the first opaque one, blended in order over white.
  const background = (el) => {
    const layers = [];
    for (let n = el; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c && c.a > 0) layers.push(c);
      if (c && c.a >= 1) break;
    }
    return layers.reverse().reduce((below, layer) => over(layer, below), WHITE);
  };
  const luminance = (c) => {
    const ch = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * ch(c.r) + 0.7152 * ch(c.g) + 0.0722 * ch(c.b);
  };
  const ratio = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const hex = (c) => '#' + [c.r, c.g, c.b].map((v) => Math.round(v).toString(16).padStart(2, '0')).join('');
  const contrast = (out, el, colour, what) => {
    const fg = parse(colour);
    if (!fg) { out.push(problem('contrast', el, 'cannot read the colour ' + colour)); return; }
    const bg = background(el);
    const text = over(fg, bg);
    const s = getComputedStyle(el);
    const px = parseFloat(s.fontSize), bold = Number(s.fontWeight) >= 700;
    const need = px >= 24 || (px >= 18.66 && bold) ? 3 : 4.5;
    const got = ratio(text, bg);
    if (got < need) {
      out.push(problem('contrast', el, `${what}${hex(text)} on ${hex(bg)} is ${got.toFixed(2)}:1, needs ${need}:1 (${px}px${bold ? ' bold' : ''})`));
    }
  };

  // audit runs the checks that need no keyboard.
  const audit = () => {
    const out = [];
    if (!squash(document.documentElement.getAttribute('lang'))) out.push(problem('structure', null, '<html> has no lang'));
    if (!squash(document.title)) out.push(problem('structure', null, 'the page has no <title>'));
    const mains = document.querySelectorAll('main');
    if (mains.length !== 1) out.push(problem('structure', null, `${mains.length} <main> elements, want one`));
    const h1s = [...document.querySelectorAll('h1')];
    if (h1s.length === 0) out.push(problem('structure', null, 'the page has no <h1>'));
    for (const h of h1s) if (!squash(h.textContent)) out.push(problem('structure', h, 'empty <h1>'));
    const ids = new Map();
    for (const el of document.querySelectorAll('[id]')) {
      if (ids.has(el.id)) out.push(problem('structure', el, `id "${el.id}" is used twice`));
      ids.set(el.id, el);
    }

    for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
      if (rendered(el) && !ownName(el)) out.push(problem('label', el, 'form control without a label, aria-label, aria-labelledby or title'));
    }
    for (const el of document.querySelectorAll('a[href], button')) {
      if (rendered(el) && !ownName(el) && !contentName(el)) out.push(problem('name', el, 'no accessible name (text, aria-label, title or img alt)'));
    }
    for (const el of document.querySelectorAll('label[for]')) {
      if (!document.getElementById(el.htmlFor)) out.push(problem('label', el, `for="${el.htmlFor}" names no element`));
    }
    for (const el of document.querySelectorAll('[aria-labelledby], [aria-describedby]')) {
      const refs = squash([el.getAttribute('aria-labelledby'), el.getAttribute('aria-describedby')].join(' ')).split(' ');
      for (const id of refs.filter((r) => r && !document.getElementById(r))) {
        out.push(problem('name', el, `aria-labelledby or aria-describedby names "${id}", which is not on the page`));
      }
    }
    for (const el of document.querySelectorAll('th')) {
      if (rendered(el) && !squash(el.textContent) && !ownName(el)) out.push(problem('table', el, 'empty header cell: a header needs text'));
    }
    for (const el of document.querySelectorAll('[tabindex]')) {
      const t = Number(el.getAttribute('tabindex'));
      if (t > 0) out.push(problem('tabindex', el, `positive tabindex ${t} changes the tab order`));
      else if (t < 0 && el.matches(NATIVE) && visible(el)) out.push(problem('tabindex', el, 'tabindex="-1" removes it from the tab order'));
    }

    for (const el of document.body.querySelectorAll('*')) {
      if (!visible(el) || disabled(el) || el.matches('option, optgroup, script, style')) continue;
      const text = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
      const control = el.matches('input:not([type=checkbox], [type=radio], [type=range], [type=color]), select, textarea');
      if (text || (control && el.value)) contrast(out, el, getComputedStyle(el).color, '');
      if (control && el.placeholder && !el.value) contrast(out, el, getComputedStyle(el, '::placeholder').color, 'placeholder ');
    }
    return out;
  };

  // The keyboard walk: start() notes every interactive element's unfocused outline and shadow
  // and puts the focus at the top of the document; step() looks at what Tab focused; finish()
  // reports what Tab never reached.
  let walk = null;
  const ring = (el) => {
    const s = getComputedStyle(el);
    const outline = s.outlineStyle === 'none' || parseFloat(s.outlineWidth) === 0 ? 'none' : `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`;
    return {outline, shadow: s.boxShadow, style: s.outlineStyle, colour: s.outlineColor, offset: parseFloat(s.outlineOffset) || 0};
  };
  const start = () => {
    if (document.activeElement) document.activeElement.blur();
    // A link or control with tabindex="-1" is expected too: Tab must reach it.
    const all = [...document.querySelectorAll(INTERACTIVE)].filter((el) => el.matches(NATIVE) || !el.matches('[tabindex="-1"]'));
    const before = new Map(all.map((el) => [el, ring(el)]));
    const expected = all.filter((el) => visible(el) && !disabled(el) && el.closest('main, header, nav'));
    const mark = document.createElement('span');
    mark.tabIndex = -1;
    document.body.prepend(mark);
    mark.focus();
    walk = {before, expected, mark, reached: new Set(), first: null, out: [], seen: new Set()};
    return expected.length;
  };
  const reached = (el) => walk.reached.has(el) || (el.type === 'radio' && el.name &&
    [...walk.reached].some((r) => r.type === 'radio' && r.name === el.name && r.form === el.form));
  // step returns true when the walk is over: everything expected was reached, or Tab came
  // round to the first element again.
  const step = () => {
    if (walk.mark.isConnected) walk.mark.remove();
    const el = document.activeElement;
    if (!el || el === document.body || el === document.documentElement) return false;
    if (el === walk.first) return true;
    walk.first = walk.first || el;
    walk.reached.add(el);
    if (!walk.seen.has(el)) {
      walk.seen.add(el);
      const was = walk.before.get(el), now = ring(el);
      if (!el.matches(':focus-visible')) walk.out.push(problem('focus', el, 'focused by Tab but not :focus-visible'));
      if (was && was.outline === now.outline && was.shadow === now.shadow) {
        walk.out.push(problem('focus', el, 'no visible focus indicator: outline and box-shadow do not change on focus'));
      } else if (was && was.outline !== now.outline && now.style !== 'auto') {
        const c = parse(now.colour), bg = background(now.offset >= 0 && el.parentElement ? el.parentElement : el);
        const r = c ? ratio(over(c, bg), bg) : 0;
        if (r < 3) walk.out.push(problem('focus', el, `focus outline ${now.colour} on ${hex(bg)} is ${r.toFixed(2)}:1, needs 3:1`));
      }
    }
    return walk.expected.every(reached);
  };
  const finish = (presses) => {
    const out = walk.out;
    for (const el of walk.expected) {
      if (!reached(el)) out.push(problem('keyboard', el, `not reached by Tab within ${presses} presses`));
    }
    if (walk.mark.isConnected) walk.mark.remove();
    if (document.activeElement) document.activeElement.blur();
    window.scrollTo(0, 0);
    walk = null;
    return out;
  };
  return {audit, start, step, finish};
})();
