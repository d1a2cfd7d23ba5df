// FrameAhead's front end (anywidget): the picture, and the frames of the next settings
// already in the page. Python side: convwidget/explorer/ahead.py (the key scheme, the budget).
//
// A held frame is shown only when its key equals the key of the watched controls' values
// right now; otherwise the confirmed picture stays, dimmed and marked pending, until the
// kernel confirms. Which frames are held is decided by the kernel (messages "frames" with
// keys to drop, and "reset"); the page files the confirmed frame itself.

const STORES = new Map(); // uid -> the model's store (each view gets its own model proxy)

function bytesOf(data) {
  if (!data) return null;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

// A cheap fingerprint of a frame's bytes (FNV-1a over every 7th byte, and the length): a
// picture confirmed again keeps its URL, so the shown image is neither reloaded nor revoked.
function fingerprint(data) {
  const bytes = bytesOf(data);
  if (!bytes) return "";
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i += 7) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  return bytes.length + ":" + h;
}

function pngUrl(data) {
  const bytes = bytesOf(data);
  if (!bytes || bytes.byteLength === 0) return null;
  return URL.createObjectURL(new Blob([bytes], { type: "image/png" }));
}

function pageTheme() {
  const light = document.body ? document.body.dataset.jpThemeLight : undefined;
  return light === "false" ? "dark" : "light";
}

// A selection (Dropdown) has no value in the page, only its index: keyed by that.
function valueOf(m) {
  const value = m.get("value");
  return value === undefined ? m.get("index") : value;
}

// The browser's twin of ahead.frame_key: JSON of [name, value] pairs in name order.
function keyOf(context, names, controls, skipDisabled) {
  const pairs = [];
  for (const name of names) {
    const m = controls.get(name);
    if (!m) return null;
    if (skipDisabled && m.get("disabled")) continue;
    pairs.push([name, valueOf(m)]);
  }
  return context + "|" + JSON.stringify(pairs);
}

function makeStore(model) {
  const store = {
    frames: new Map(), // key -> {light, dark, size}
    confirmed: { light: null, dark: null },
    controls: new Map(), // name -> the control's model
    names: [],
    targets: new Map(), // name -> a text widget's model: it shows the shown frame's text
    ownTexts: 0, // > 0 while the page sets a target's value itself
    textsDue: false, // the texts after the headline may be shown now (see showTexts)
    textsTimer: null,
    views: new Set(),
    version: 0,
    bytes: 0,
    decoding: false,
  };
  store.update = () => {
    for (const view of store.views) view();
    if (!store.decoding) {
      store.decoding = true;
      setTimeout(() => {
        store.decoding = false;
        if (store.names.length === store.controls.size) predecode(model, store);
      }, 0);
    }
  };
  const inUse = (url) => url === store.confirmed.light || url === store.confirmed.dark;
  store.drop = (key) => {
    const entry = store.frames.get(key);
    if (!entry) return;
    for (const theme of ["light", "dark"]) {
      if (entry[theme] && !inUse(entry[theme])) URL.revokeObjectURL(entry[theme]);
    }
    store.bytes -= (entry.sizes.light || 0) + (entry.sizes.dark || 0);
    store.frames.delete(key);
  };
  store.clear = () => { for (const key of [...store.frames.keys()]) store.drop(key); };
  store.file = (key, theme, data, texts) => {
    const url = pngUrl(data);
    if (!url) return;
    const entry = store.frames.get(key) || { light: null, dark: null, sizes: {}, texts: null, prints: {} };
    if (texts) entry.texts = texts;
    if (entry[theme] && !inUse(entry[theme])) URL.revokeObjectURL(entry[theme]);
    entry[theme] = url;
    entry.prints[theme] = fingerprint(data);
    // a theme filed again replaces its bytes (counted twice, the page's cap would drop frames
    // the kernel counts as held, and never sends again)
    const size = bytesOf(data).byteLength;
    const before = entry.sizes[theme] || 0;
    entry.sizes[theme] = size;
    store.bytes += size - before;
    store.frames.delete(key); // newest last: the page's own cap drops the oldest first
    store.frames.set(key, entry);
    const budget = model.get("budget");
    for (const old of store.frames.keys()) {
      if (store.bytes <= budget || old === key) break;
      store.drop(old);
    }
  };
  return store;
}

// Decode, in the background, the frames one notch from the controls' values: the picture a
// key press asks for is then ready to paint (an Image kept per entry holds the decoded copy).
function predecode(model, store) {
  const context = model.get("context");
  const theme = pageTheme();
  const skip = model.get("skip_disabled");
  for (const name of store.names) {
    const value = valueOf(store.controls.get(name));
    if (typeof value !== "number") continue;
    for (const moved of [value + 1, value - 1]) {
      const pairs = store.names
        .filter((n) => !(skip && store.controls.get(n).get("disabled")))
        .map((n) => [n, n === name ? moved : valueOf(store.controls.get(n))]);
      const entry = store.frames.get(context + "|" + JSON.stringify(pairs));
      if (!entry || !entry[theme] || (entry.decoded && entry.decoded.src === entry[theme])) continue;
      const image = new Image();
      image.src = entry[theme];
      image.decode().catch(() => {});
      entry.decoded = image;
    }
  }
}

// The confirmed frame, filed under its key: a theme's picture the page already holds for that
// key keeps its URL (nothing reloads); the kernel may send the theme the page does not show
// a moment later (model "value" / "value_dark" empty until then).
function fileConfirmed(model, store) {
  const base = model.get("base");
  const texts = model.get("texts") || {}; // the headline of this frame, when it is shown again
  const old = store.confirmed;
  store.confirmed = { light: null, dark: null };
  for (const theme of ["light", "dark"]) {
    const data = model.get(theme === "light" ? "value" : "value_dark");
    const bytes = bytesOf(data);
    if (!bytes || !bytes.byteLength) continue;
    const held = store.frames.get(base);
    if (held && held[theme] && held.prints[theme] === fingerprint(data)) continue;
    store.file(base, theme, data, texts);
  }
  const entry = store.frames.get(base);
  const size = (data) => { const b = bytesOf(data); return b ? b.byteLength : 0; };
  if (entry && size(model.get("value")) + size(model.get("value_dark")) > 0) {
    entry.texts = texts;
    store.confirmed = { light: entry.light, dark: entry.dark };
  }
  // the old confirmed URLs: revoked unless a held frame still shows them
  const heldUrls = new Set();
  for (const e of store.frames.values()) { heldUrls.add(e.light); heldUrls.add(e.dark); }
  for (const theme of ["light", "dark"]) {
    const url = old[theme];
    if (url && !heldUrls.has(url) && url !== store.confirmed.light && url !== store.confirmed.dark) {
      URL.revokeObjectURL(url);
    }
  }
}

async function watchControls(model, store) {
  const version = ++store.version;
  for (const [, m] of store.controls) m.off("change:value change:disabled", store.update);
  store.controls = new Map();
  const ids = model.get("sliders") || {};
  const names = Object.keys(ids).sort();
  const models = await Promise.all(names.map((n) => model.widget_manager.get_model(ids[n])));
  if (version !== store.version) return; // the watched set changed meanwhile
  names.forEach((n, i) => {
    store.controls.set(n, models[i]);
    models[i].on("change:value change:disabled", store.update);
  });
  store.names = names;
  store.update();
}

// The text widgets that move with the frames (the calculator's headline): the page shows in
// them the texts of the frame it shows, a held frame's or the confirmed one's (model "texts",
// set with "base" in one message); a value the kernel sends them between is put right at once.
async function watchTargets(model, store) {
  const ids = model.get("targets") || {};
  const names = Object.keys(ids);
  const models = await Promise.all(names.map((n) => model.widget_manager.get_model(ids[n])));
  names.forEach((n, i) => {
    store.targets.set(n, models[i]);
    models[i].on("change:value", () => { if (!store.ownTexts) store.update(); });
  });
  store.update();
}

// The shown frame's texts into the target widgets: the headline at once, the others (PyTorch's
// answer, the formula: MathJax typesets it) once the picture has been painted, in the next
// task after the next frame, with the texts of the frame shown then. True while some wait.
const FIRST = new Set(["output"]);

function showTexts(store, texts) {
  if (!texts) return false;
  let late = false;
  for (const [name, m] of store.targets) {
    const text = texts[name];
    if (typeof text !== "string" || m.get("value") === text) continue;
    if (!FIRST.has(name) && !store.textsDue) {
      late = true;
      continue;
    }
    store.ownTexts += 1;
    try { m.set("value", text); } finally { store.ownTexts -= 1; } // local: never sent back
  }
  if (late && !store.textsTimer) {
    const due = () => {
      store.textsTimer = null;
      store.textsDue = true;
      try { store.update(); } finally { store.textsDue = false; }
    };
    store.textsTimer = typeof requestAnimationFrame === "function"
      ? requestAnimationFrame(() => setTimeout(due, 0)) : setTimeout(due, 0);
  }
  return late;
}

function onMessage(model, store, msg, buffers) {
  if (!msg || typeof msg !== "object") return;
  if (msg.type === "reset") {
    store.clear();
    fileConfirmed(model, store);
  } else if (msg.type === "frames") {
    for (const key of msg.drop || []) store.drop(key);
    const texts = msg.texts || [];
    (msg.keys || []).forEach((key, i) => store.file(key, msg.theme, buffers[i], texts[i]));
  }
  store.update();
}

function initialize({ model }) {
  const store = makeStore(model);
  STORES.set(model.get("uid"), store);
  fileConfirmed(model, store);
  const confirmed = () => { fileConfirmed(model, store); store.update(); };
  model.on("change:value", confirmed);
  model.on("change:value_dark", confirmed);
  model.on("change:base", confirmed);
  model.on("change:pending", store.update);
  model.on("change:texts", store.update);
  model.on("change:context", store.update);
  model.on("change:sliders", () => watchControls(model, store));
  model.on("change:targets", () => watchTargets(model, store));
  model.on("msg:custom", (msg, buffers) => onMessage(model, store, msg, buffers));
  const observer = new MutationObserver(() => {
    const theme = pageTheme();
    if (theme !== model.get("theme")) {
      model.set("theme", theme);
      model.save_changes();
    }
    store.update();
  });
  if (document.body) {
    observer.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light"] });
  }
  if (pageTheme() !== model.get("theme")) {
    model.set("theme", pageTheme());
    model.save_changes();
  }
  watchControls(model, store);
  watchTargets(model, store);
  model.send({ type: "hello" }); // a new page holds nothing but the confirmed frame
  return () => {
    observer.disconnect();
    store.clear();
    for (const theme of ["light", "dark"]) {
      if (store.confirmed[theme]) URL.revokeObjectURL(store.confirmed[theme]);
    }
    STORES.delete(model.get("uid"));
  };
}

// Is a kernel behind the controls? Not in a static HTML export (html-manager's models have
// no comm) nor once the kernel has gone: then nothing will ever confirm a moved control.
function live(store) {
  for (const m of store.controls.values()) if (m.comm_live) return true;
  return false;
}

function render({ model, el }) {
  const store = STORES.get(model.get("uid"));
  el.classList.add("cw-ahead");
  const img = document.createElement("img");
  img.className = "cw-ahead-img";
  img.alt = "the sliding window";
  img.setAttribute("elementtiming", "cw-ahead");
  const mark = document.createElement("span");
  mark.className = "cw-ahead-mark";
  mark.textContent = "…";
  mark.title = "waiting for the kernel";
  const style = document.createElement("style");
  style.textContent =
    ".cw-ahead{position:relative;display:inline-block;line-height:0}" +
    ".cw-ahead-img{image-rendering:auto;max-width:none}" +
    ".cw-ahead-mark{display:none;position:absolute;top:2px;right:6px;line-height:1.2;" +
    "font-size:18px;color:var(--jp-ui-font-color1,#333)}" +
    ".cw-ahead.cw-ahead-pending .cw-ahead-img{opacity:.55}" +
    ".cw-ahead.cw-ahead-pending .cw-ahead-mark{display:block}" +
    // no kernel (a static HTML export): the saved picture stays, marked as not live
    ".cw-ahead.cw-ahead-static .cw-ahead-mark{font-size:12px;font-style:italic;padding:0 4px;" +
    "background:var(--jp-layout-color1,#fff)}" +
    ".cw-explorer.cw-waiting.cw-no-kernel .cw-torch-panel::after{content:'no kernel: the saved setting'}";
  el.append(style, img, mark);

  const show = () => {
    const theme = pageTheme();
    const current = keyOf(model.get("context"), store.names, store.controls, model.get("skip_disabled"));
    const base = model.get("base");
    let src = null;
    let key = null;
    let pending = !!model.get("pending");
    const held = current === null ? null : store.frames.get(current);
    if (current !== null && current === base) {
      src = store.confirmed[theme] || store.confirmed.light || store.confirmed.dark;
      key = base;
    } else if (held && held[theme]) {
      src = held[theme];
      key = current;
    } else {
      src = store.confirmed[theme] || store.confirmed.light || store.confirmed.dark;
      key = base;
      pending = true;
    }
    const late = showTexts(store, key === current && key !== base ? held.texts : model.get("texts"));
    el.classList.toggle("cw-ahead-pending", pending);
    // with no kernel behind the page the kernel never confirms: the picture and the texts stay
    // those of the setting saved with it, and say so (not "waiting for the kernel")
    const stale = current !== null && !live(store);
    el.classList.toggle("cw-ahead-static", stale && pending);
    mark.textContent = stale && pending ? "not live: the saved setting" : "…";
    mark.title = stale && pending
      ? "No kernel runs this page (a static HTML export, or the kernel has stopped): the picture, " +
        "the output size and PyTorch's answer are those of the setting saved with it. Run the " +
        "notebook to explore."
      : "waiting for the kernel";
    // the kernel has not confirmed the controls' setting yet: texts the held frame does not
    // carry (PyTorch's answer, the formula: all of them, when a frame comes without) wait,
    // marked (the explorer's style dims them after a moment); with no frame held for it
    // ("behind"), the picture and the headline wait too
    const carried = key === current && key !== base && held && held.texts
      ? Object.keys(model.get("targets") || {}).every((n) => typeof held.texts[n] === "string")
      : false;
    const root = el.closest(".cw-explorer");
    if (root) {
      root.classList.toggle("cw-waiting", current !== null && current !== base && (!carried || late));
      root.classList.toggle("cw-behind", current !== null && pending);
      root.classList.toggle("cw-no-kernel", stale && current !== base);
    }
    img.style.display = src ? "" : "none";
    img.dataset.pending = pending ? "1" : "0";
    el.dataset.current = current === null ? "" : current; // the controls' key now (tests)
    el.dataset.held = String(store.frames.size);
    el.dataset.bytes = String(store.bytes); // what the page holds (tests: the kernel's count)
    el.dataset.confirmed = current !== null && current === base ? "1" : "0";
    el.dataset.live = current === null ? "" : live(store) ? "1" : "0";
    // by URL, not by key: a setting confirmed again has new URLs and its old ones are revoked
    // (an image still loading from a revoked URL never appears)
    if (src && img.getAttribute("src") !== src) {
      img.dataset.theme = theme;
      img.dataset.key = key;
      img.src = src;
    }
  };
  store.views.add(show);
  show();
  return () => store.views.delete(show);
}

export default { initialize, render };
