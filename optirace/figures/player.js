// The race player: the whole race is in the page (the `race` and `racers` sources, sent once per
// change); this code shows it at a step, and plays, pauses, steps, scrubs and loops it with no
// message to the server per frame. The same code runs in the app and in the offline HTML export.
//
// Bokeh runs it as the body of a CustomJS: `action` says what the calling model asks for, and the
// args are race, racers, targets (the tagged models of the figure, see figures/tags.py), slider,
// play, board, iterates, speed, loop, report (null where no server listens), autoplay and linked
// (read play=1 and loop=1 from the page's own link).
const P = race._player ?? (race._player = {step: 0, playing: false, acc: 0, last: 0, raf: null,
                                           shown: new Map()});
P.args = {race, racers, targets, slider, play, board, iterates, speed, loop, report};
window.__optirace = Object.assign(window.__optirace ?? {}, {player: P, slider});

const col = (src, k) => (src.data instanceof Map ? src.data.get(k) : src.data[k]);
const setData = (src, obj) => {
  const old = src.data;
  if (old instanceof Map) src.data = new Map(Object.entries(obj));
  else src.data = obj;
};
const keep = (src, obj) => {  // obj, plus the source's other columns as they are
  const out = {};
  const names = src.data instanceof Map ? [...src.data.keys()] : Object.keys(src.data);
  for (const k of names) out[k] = col(src, k);
  return Object.assign(out, obj);
};

function parseTargets() {
  // Parsed once per set of targets (a new figure brings new ones), not on every frame.
  if (P.parsedFor === targets) return P.parsed;
  const out = [];
  for (const m of targets) {
    for (const t of m.tags ?? []) {
      if (typeof t !== 'string' || !t.startsWith('optirace:')) continue;
      const [, role, racer, fx, fy] = t.split(':');
      // The ghost of the last race (figures/ghost.py) is the server's to fill: left alone here.
      if (role !== 'panel' && role !== 'key' && !role.startsWith('ghost')) out.push({m, role, i: +racer, fx, fy});
    }
  }
  P.parsedFor = targets;
  P.parsed = out;
  // Each racer's tail by role and slot, which the done layers read (doneAll).
  P.tails = new Map(out.filter((t) => t.i >= 0).map((t) => [t.role + ':' + t.i, t.m]));
  return out;
}

// ----- %g as Python prints it, for the numbers in the tables ------------------------------------------
function fmt(v, p) {
  if (v === null || v === undefined || Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (v === 0) return '0';
  let [m, e] = Math.abs(v).toExponential(p - 1).split('e');
  const exp = +e;
  const strip = (s) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  const sign = v < 0 ? '-' : '';
  if (exp < -4 || exp >= p) return sign + strip(m) + 'e' + (exp < 0 ? '-' : '+') + String(Math.abs(exp)).padStart(2, '0');
  return sign + strip(Math.abs(v).toFixed(Math.max(p - 1 - exp, 0)));
}

function rowAt(step) {  // the last row whose step is <= step
  const s = col(race, 'step');
  let lo = 0, hi = s.length - 1;
  if (hi < 0) return 0;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (s[mid] <= step) lo = mid; else hi = mid - 1;
  }
  return lo;
}

function meta(i, k) { return col(racers, k)[i]; }

function boardHtml(r, step, steps, n) {
  const rows = [];
  for (let i = 0; i < n; i++) {
    const dead = meta(i, 'dead'), first = meta(i, 'first');
    let status = 'running', cls = 'running';
    if (dead >= 0 && dead <= step) { status = 'diverged at step ' + dead; cls = 'diverged'; }
    else if (first >= 0 && first <= step) { status = 'converged at step ' + first; cls = 'converged'; }
    else if (step >= steps) { status = 'stopped at the step budget'; cls = 'stopped'; }
    const rr = Math.min(r, meta(i, 'lastrow'));
    rows.push(`<tr><td><span class='swatch' style='background:${meta(i, 'color')}'></span>${meta(i, 'label')}</td>` +
      `<td>${fmt(col(race, 'loss' + i)[rr], 4)}</td><td>${fmt(col(race, 'dist' + i)[rr], 3)}</td>` +
      `<td>${first >= 0 && first <= step ? first : '–'}</td><td class='status ${cls}'>${status}</td></tr>`);
  }
  return `<table class='board'><caption>Leaderboard at step ${step}</caption><tr><th>racer</th><th>loss</th>` +
    `<th>distance to min</th><th>first within 1e-6</th><th>status</th></tr>${rows.join('')}</table>`;
}

function iterateTable(r, n) {
  // x_t and f'(x_t) per racer: the first steps, then the latest.
  const s = col(race, 'step');
  const ts = [];
  for (let t = 0; t <= Math.min(r, 5); t++) ts.push(t);
  for (let t = Math.max(r - 5, 0); t <= r; t++) if (!ts.includes(t)) ts.push(t);
  let head = '';
  for (let i = 0; i < n; i++)
    head += `<th><span class='swatch' style='background:${meta(i, 'color')}'></span>x<sub>t</sub></th><th>f'(x<sub>t</sub>)</th>`;
  let body = '', prev = null;
  for (const t of ts) {
    if (prev !== null && t !== prev + 1) body += '<tr><td>⋮</td></tr>';
    let cells = '';
    for (let i = 0; i < n; i++) cells += `<td>${fmt(col(race, 'x' + i)[t], 6)}</td><td>${fmt(col(race, 'g' + i)[t], 6)}</td>`;
    body += `<tr><td>${s[t]}</td>${cells}</tr>`;
    prev = t;
  }
  return `<table class='iterates'><caption>Iterates</caption><tr><th>t</th>${head}</tr>${body}</table>`;
}

// ----- paths and loss curves: a done part and a growing tail ------------------------------------------
// Each racer's path and loss curve is two layers (figures/split.py): the done layer, on the panel's
// main canvas, holds rows 0..c, and the tail, on the overlay canvas that every frame repaints, rows
// c..r of the shown row r (both hold row c, so the line is unbroken). The checkpoint c is the last
// multiple of CHUNK at or before r: the done layer, and with it the main canvas, is redrawn once
// per CHUNK rows (or when a scrub, loop or reset takes r below c), and a frame draws at most CHUNK
// points per layer however far the race has gone.
const CHUNK = 256;
const TRAILS = ['path', 'loss', 'pathdone', 'lossdone'];

function trail(m, role, i, fx, fy, upto, full) {  // a racer's tail: rows c..upto-1
  const c = Math.floor((upto - 1) / CHUNK) * CHUNK, key = c + ':' + upto;
  if (!full && P.shown.get(m.id) === key) return;
  P.shown.set(m.id, key);
  const xs = role === 'loss' ? col(race, 'step') : col(race, 'x' + i), ys = col(race, (role === 'loss' ? 'gap' : 'y') + i);
  // Copies, not views: BokehJS measures a column by its own buffer.
  const x = xs.slice(c, upto), y = ys.slice(c, upto);
  const src = m.data_source;
  // A path's other columns (its racer's name, for the hover) follow its racer.
  const named = role === 'path' && fx === 'xs' && col(src, 'racer') ? {racer: [meta(i, 'text')]} : {};
  setData(src, fx === 'xs' ? keep(src, {[fx]: [x], [fy]: [y], ...named}) : {[fx]: x, [fy]: y});
}

// The done layers hold every racer: a line per palette slot (figures/split.py). A slot's line is
// empty where no racer holds the slot, or where its racer's tail is hidden (a click on its legend
// entry; figures/played.py redraws the player then).
function doneAll(m, role, r, racerAt, full) {
  const kind = role.slice(0, -4), src = m.data_source, rows = col(src, 'xs').length;
  const upto = [];
  for (let slot = 0; slot < rows; slot++) {
    const j = racerAt.has(slot) ? racerAt.get(slot) : -1, tail = P.tails.get(kind + ':' + slot);
    upto.push(j < 0 || (tail && !tail.visible) ? -1 : Math.floor(Math.min(r, meta(j, 'lastrow')) / CHUNK) * CHUNK + 1);
  }
  const key = upto.join(',');
  if (!full && P.shown.get(m.id) === key) return;
  P.shown.set(m.id, key);
  const xs = [], ys = [], names = [];
  upto.forEach((to, slot) => {
    const j = to < 0 ? -1 : racerAt.get(slot);
    // Copies, not views: BokehJS measures a column by its own buffer.
    xs.push(j < 0 ? [] : (kind === 'loss' ? col(race, 'step') : col(race, 'x' + j)).slice(0, to));
    ys.push(j < 0 ? [] : col(race, (kind === 'loss' ? 'gap' : 'y') + j).slice(0, to));
    names.push(j < 0 ? '' : meta(j, 'text'));
  });
  setData(src, keep(src, {xs, ys, ...(col(src, 'racer') ? {racer: names} : {})}));
}

// ----- drawing one step ------------------------------------------------------------------------------
function draw(step, full) {
  const s = col(race, 'step');
  if (!s || !s.length) return;
  const steps = s[s.length - 1];
  step = Math.max(0, Math.min(Math.round(step), steps));
  const r = rowAt(step);
  const n = col(racers, 'color').length;
  if (full) P.shown = new Map();
  // The figure's racer layers are by palette slot (a racer keeps its colour when another goes);
  // a slot no racer holds is emptied and hidden.
  const racerAt = new Map();
  Array.from(col(racers, 'slot')).forEach((slot, i) => racerAt.set(slot, i));
  for (const t of parseTargets()) {
    const {m, role, fx, fy} = t;
    const slot = t.i, i = slot >= 0 ? (racerAt.has(slot) ? racerAt.get(slot) : -2) : -1;
    if (i === -2) {
      if (full && !m._optiraceEmpty) {  // emptied once, not again with every new race
        const names = m.data_source.data instanceof Map ? [...m.data_source.data.keys()] : Object.keys(m.data_source.data);
        setData(m.data_source, Object.fromEntries(names.map((k) => [k, []])));
        m.visible = false;
        m._optiraceEmpty = true;
      }
      continue;
    }
    if (full && m._optiraceEmpty) { m._optiraceEmpty = false; m.visible = true; }
    const last = i >= 0 ? meta(i, 'lastrow') : 0, rr = Math.min(r, last), upto = rr + 1;
    const src = m.data_source;
    if (TRAILS.includes(role) && slot < 0) {
      doneAll(m, role, r, racerAt, full);
    } else if (TRAILS.includes(role)) {
      trail(m, role, i, fx, fy, upto, full);
    } else if (role === 'predicted') {
      // Theory's loss for this racer (figures/theory.py), whole: it is known before the race runs.
      const p = col(race, 'pred' + i);
      if (full) setData(src, {[fx]: p ? s : [], [fy]: p ? p : []});
    } else if (role === 'lr' || role === 'momentum') {
      if (full) setData(src, {[fx]: s, [fy]: col(race, (role === 'lr' ? 'lr' : 'mom') + i)});
    } else if (role === 'heads') {
      // One row per slot, in slot order; an empty slot's row is not drawn (NaN).
      const rows = col(src, fx).length, hx = [], hy = [], hs = [], hl = [], names = [];
      for (let slot = 0; slot < rows; slot++) {
        const j = racerAt.has(slot) ? racerAt.get(slot) : -1;
        if (j < 0) { hx.push(NaN); hy.push(NaN); hs.push(NaN); hl.push(NaN); names.push(''); continue; }
        const q = Math.min(r, meta(j, 'lastrow'));
        hx.push(col(race, 'x' + j)[q]); hy.push(col(race, 'y' + j)[q]);
        hs.push(s[q]); hl.push(col(race, 'loss' + j)[q]); names.push(meta(j, 'text'));
      }
      setData(src, keep(src, {[fx]: hx, [fy]: hy, step: hs, loss: hl, racer: names}));
    } else if (role === 'tangent') {
      const x = col(race, 'x' + i)[rr], y = col(race, 'y' + i)[rr], g = col(race, 'g' + i)[rr];
      const w = meta(i, 'tw');
      setData(src, {x0: [x - w], y0: [y - g * w], x1: [x + w], y1: [y + g * w]});
    } else if (role === 'deadx' || role === 'deadtext' || role === 'lossdead') {
      // Every racer's cross (or label) in one layer, a row per slot (figures/surface.py,
      // dead_layers): a row is filled once its racer has diverged by the step shown.
      const rows = col(src, fx).length, on = [];
      for (let slot = 0; slot < rows; slot++) {
        const j = racerAt.has(slot) ? racerAt.get(slot) : -1, d = j < 0 ? -1 : meta(j, 'dead');
        on.push(d >= 0 && d <= step ? j : -1);
      }
      const key = on.join(',');
      if (!full && P.shown.get(m.id) === key) continue;
      P.shown.set(m.id, key);
      const xs = [], ys = [], text = [], align = [], base = [];
      for (const j of on) {
        if (role === 'deadx') { xs.push(j < 0 ? NaN : meta(j, 'px')); ys.push(j < 0 ? NaN : meta(j, 'py')); }
        else if (role === 'lossdead') {
          xs.push(j < 0 ? NaN : meta(j, 'dead')); ys.push(j < 0 ? NaN : col(race, 'gap' + j)[meta(j, 'deadrow')]);
        } else {
          xs.push(j < 0 ? NaN : meta(j, 'tx')); ys.push(j < 0 ? NaN : meta(j, 'ty'));
          text.push(j < 0 ? '' : 'diverged at step ' + meta(j, 'dead'));
          align.push(j < 0 ? 'left' : meta(j, 'h')); base.push(j < 0 ? 'bottom' : meta(j, 'v'));
        }
      }
      const labels = role === 'deadtext' ? {text, align, baseline: base} : {};
      setData(src, keep(src, {[fx]: xs, [fy]: ys, ...labels}));
      m.visible = on.some((j) => j >= 0);
    } else if (role.startsWith('arrow.') || role === 'track') {
      // The internals (figures/internals.py), drawn only while the page's toggles ask for them
      // (window.__optirace.layers): arrows from each racer's point, one row per slot; tracks.
      const kind = role === 'track' ? 'track' : role.slice(6);
      const on = !!(window.__optirace.layers ?? {})[kind];
      if (m.visible !== on) m.visible = on;
      if (!on) continue;
      const rows = col(src, 'color').length, a = {x0: [], y0: [], x1: [], y1: [], xs: [], ys: []}, colors = [];
      for (let slot = 0; slot < rows; slot++) {
        const j = racerAt.has(slot) ? racerAt.get(slot) : -1;
        const q = j < 0 ? 0 : Math.min(r, meta(j, 'lastrow'));
        colors.push(j < 0 ? '#000000' : meta(j, 'color'));
        if (kind === 'track') {
          const tx = j < 0 ? null : col(race, 'sx' + j), ty = j < 0 ? null : col(race, 'sy' + j);
          a.xs.push(tx ? tx.slice(0, q + 1) : [NaN]); a.ys.push(ty ? ty.slice(0, q + 1) : [NaN]);
          continue;
        }
        const dx = j < 0 ? null : col(race, kind + 'dx' + j), dy = j < 0 ? null : col(race, kind + 'dy' + j);
        const x = j < 0 ? NaN : col(race, 'x' + j)[q], y = j < 0 ? NaN : col(race, 'y' + j)[q];
        a.x0.push(x); a.y0.push(y);
        a.x1.push(dx ? x + dx[q] : NaN); a.y1.push(dy ? y + dy[q] : NaN);
      }
      if (kind === 'track') setData(src, keep(src, {[fx]: a.xs, [fy]: a.ys, color: colors}));
      else setData(src, keep(src, {x0: a.x0, y0: a.y0, x1: a.x1, y1: a.y1, color: colors}));
    } else if (role === 'start') {
      // Every racer starts at the same point: the first racer's first row.
      if (full) setData(src, keep(src, {[fx]: [col(race, 'x0')[0]], [fy]: [col(race, 'y0')[0]]}));
    } else if (role === 'step') {
      m.location = s[r];
    }
  }
  P.step = s[r];
  if (slider.end !== Math.max(steps, 1)) slider.end = Math.max(steps, 1);
  slider.value = s[r];
  // The tables follow every step shown at rest; while playing they are written at most ten times
  // a second (no one reads fifty tables a second, and each costs the page a re-layout).
  const now = performance.now();
  if (!P.playing || s[r] === steps || now - (P.tablesAt ?? 0) >= 100) {
    P.tablesAt = now;
    tables(r, s[r], steps, n);
  }
}

function tables(r, step, steps, n) {
  if (board) board.text = boardHtml(r, step, steps, n);
  if (iterates) iterates.text = col(race, 'g0') ? iterateTable(r, n) : '';
}

// ----- playing -------------------------------------------------------------------------------------
function tell(reset = false) {  // the server learns the step when the user pauses, steps or scrubs
  if (!report) return;
  // A reset says so: the server then forgets the last race's ghost.
  report.data = reset ? {step: [P.step], playing: [0], reset: [1]} : {step: [P.step], playing: [P.playing ? 1 : 0]};
}
function label() { play.label = P.playing ? '❚❚ Pause' : '▶ Play'; }
function stop() {
  P.playing = false;
  if (P.raf !== null) { cancelAnimationFrame(P.raf); P.raf = null; }
  const s = col(race, 'step');
  if (s && s.length) tables(rowAt(P.step), P.step, s[s.length - 1], col(racers, 'color').length);
  label();
  tell();
}
function frame(now) {
  if (!P.playing) return;
  const a = P.args;
  const dt = Math.min((now - P.last) / 1000, 0.25);  // a tab in the background does not leap ahead
  P.last = now;
  const s = col(a.race, 'step'), steps = s[s.length - 1];
  P.acc += (a.speed ? a.speed.value : 50) * dt;
  let k = Math.floor(P.acc);
  if (k >= steps) {
    if (a.loop && a.loop.active) { P.acc = 0; k = 0; }
    else { P.draw(steps, false); P.stop(); return; }
  }
  if (k !== P.step) P.draw(k, false);
  P.raf = requestAnimationFrame(P.frame);
}
function start() {
  const s = col(race, 'step');
  if (!s || !s.length) return;
  if (P.step >= s[s.length - 1]) { P.step = 0; draw(0, false); }
  P.playing = true;
  P.acc = P.step;
  P.last = performance.now();
  label();
  tell();
  P.raf = requestAnimationFrame(P.frame);
}
function toggle() { if (P.playing) stop(); else start(); }
function by(delta) {
  const s = col(race, 'step');
  const r = Math.max(0, Math.min(rowAt(P.step) + delta, s.length - 1));
  if (P.playing) { P.playing = false; if (P.raf !== null) cancelAnimationFrame(P.raf); P.raf = null; label(); }
  draw(s[r], false);
  tell();
}

function keys() {
  if (window.__optiraceKeys) return;
  window.__optiraceKeys = true;
  // Widgets that take the arrow keys themselves: a focused slider's handle moves its slider, and
  // must not also step the race.
  const OWN_KEYS = ['slider', 'spinbutton', 'listbox', 'combobox', 'textbox', 'menu', 'tab'];
  const editable = (t) => {
    const tag = t && t.tagName ? t.tagName.toLowerCase() : '';
    const role = t && t.getAttribute ? t.getAttribute('role') : null;
    return tag === 'input' || tag === 'textarea' || tag === 'select' || !!(t && t.isContentEditable) ||
      OWN_KEYS.includes(role);
  };
  document.addEventListener('keydown', (e) => {
    // Panel's and Bokeh's widgets live in shadow roots: the composed path starts at the element
    // really typed into, so typing a label never starts the race.
    const path = e.composedPath ? e.composedPath() : [e.target];
    if (path.some(editable) || e.ctrlKey || e.metaKey || e.altKey) return;
    const act = {' ': 'toggle', ArrowRight: 'forward', ArrowLeft: 'back', r: 'reset', R: 'reset'}[e.key];
    if (!act) return;
    e.preventDefault();
    const p = window.__optirace.player;
    p.command(act);
  });
}

// The newest callback's functions, bound to the newest models, are the ones a running loop calls.
Object.assign(P, {draw, stop, frame});
P.command = (act) => {
  if (act === 'toggle') toggle();
  else if (act === 'forward') by(1);
  else if (act === 'back') by(-1);
  else if (act === 'reset') { if (P.playing) { P.playing = false; label(); } draw(0, false); tell(true); }
};

if (action === 'load') {
  // A new race (or a new figure): drawn in full at the step the player was at.
  draw(P.step, true);
} else if (action === 'ready') {
  keys();
  P.step = slider.value;
  draw(P.step, true);
  window.__optirace.ready = true;
  const q = new URLSearchParams(window.location.search);
  if (linked && q.get('loop') === '1') loop.active = true;
  if (autoplay || (linked && q.get('play') === '1')) start();
} else if (action === 'scrub') {
  // Bokeh may run this callback after the change, so the player's own moves of the slider are
  // told apart by value: the player sets P.step before it moves the slider.
  if (slider.value !== P.step) {
    if (P.playing) { P.playing = false; if (P.raf !== null) cancelAnimationFrame(P.raf); P.raf = null; label(); }
    draw(slider.value, false);
  }
} else if (action === 'scrubbed') {
  if (!P.playing) tell();
} else {
  P.command(action);
}
