// The gallery's front end (an anywidget module): filters, a page of tiles, a compare view whose
// players share one play/pause/seek control, settings diffed, and each result's details and code.
// The kernel owns the data: this module sets traits (filters, page, selected, focus) and draws
// what comes back (items, compared, detail).

const CSS = `
.omni-g{font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:13px;color:var(--jp-ui-font-color1,#1f2328)}
.omni-g-bar{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin:4px 0 8px 0}
.omni-g-bar input,.omni-g-bar select{font-size:12px;padding:2px 4px}
.omni-g-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:8px}
.omni-g-tile{border:1px solid #d0d7de;border-radius:6px;padding:4px;background:var(--jp-layout-color1,#fff)}
.omni-g-tile.chosen{outline:2px solid #0969da}
.omni-g-thumb{width:100%;aspect-ratio:16/9;object-fit:contain;background:#0d1117;display:block}
.omni-g-none{width:100%;aspect-ratio:16/9;background:#f6f8fa;color:#57606a;display:flex;align-items:center;justify-content:center}
.omni-g-prompt{margin:4px 0 2px 0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.omni-g-meta{color:#57606a;font-size:11px}
.omni-g-pager{display:flex;gap:8px;align-items:center;margin:8px 0}
.omni-g-compare{border-top:1px solid #d0d7de;margin-top:10px;padding-top:8px}
.omni-g-players{display:flex;gap:8px;overflow-x:auto}
.omni-g-player{flex:1 1 0;min-width:200px;max-width:480px}
.omni-g-player video{width:100%;max-height:320px;background:#0d1117}
.omni-g-controls{display:flex;gap:8px;align-items:center;margin:6px 0}
.omni-g-controls input[type=range]{flex:1}
.omni-g-diff{border-collapse:collapse;margin:8px 0;font-size:12px}
.omni-g-diff td,.omni-g-diff th{border:1px solid #d0d7de;padding:2px 6px;text-align:left;vertical-align:top;max-width:320px}
.omni-g-diff tr.differs td{background:#fff8c5}
.omni-g-detail pre,.omni-g-detail textarea{font-size:11px;width:100%;box-sizing:border-box}
.omni-g-error{color:#cf222e}
`;

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function options(values, chosen, label) {
  return [h("option", { value: "" }, label), ...values.map((v) =>
    h("option", { value: v, selected: v === chosen ? "selected" : false }, v))];
}

// One play/pause/seek drives every player; the first player is the clock the others follow.
export class SyncedPlayers {
  constructor(videos, root) {
    this.videos = videos;
    this.playing = false;
    this.button = h("button", { class: "omni-g-play", onclick: () => this.toggle() }, "▶ Play all");
    this.seek = h("input", { class: "omni-g-seek", type: "range", min: "0", max: "1000", value: "0",
      oninput: () => this.seekTo(Number(this.seek.value) / 1000) });
    this.clock = h("span", { class: "omni-g-clock" }, "0.0 s");
    root.append(h("div", { class: "omni-g-controls" }, this.button, this.seek, this.clock));
    const lead = videos[0];
    if (lead) {
      lead.addEventListener("timeupdate", () => this.follow());
      lead.addEventListener("ended", () => { if (this.playing) this.seekTo(0, true); });
    }
    for (const video of videos) {
      video.loop = false;
      video.muted = video !== lead; // one sound track at a time
    }
  }
  longest() {
    return Math.max(0, ...this.videos.map((v) => (isFinite(v.duration) ? v.duration : 0)));
  }
  toggle() {
    if (this.playing) this.pause(); else this.play();
  }
  play() {
    this.playing = true;
    this.button.textContent = "⏸ Pause all";
    return Promise.all(this.videos.map((v) => v.play().catch(() => undefined)));
  }
  pause() {
    this.playing = false;
    this.button.textContent = "▶ Play all";
    for (const v of this.videos) v.pause();
  }
  seekTo(fraction, resume = false) {
    const at = fraction * (this.videos[0] && isFinite(this.videos[0].duration) ? this.videos[0].duration : 0);
    for (const v of this.videos) v.currentTime = Math.min(at, isFinite(v.duration) ? v.duration : at);
    if (resume) this.play();
    this.show(at);
  }
  follow() {
    const lead = this.videos[0];
    for (const v of this.videos.slice(1)) {
      if (Math.abs(v.currentTime - lead.currentTime) > 0.15 && lead.currentTime <= v.duration) {
        v.currentTime = lead.currentTime;
      }
    }
    const length = isFinite(lead.duration) && lead.duration > 0 ? lead.duration : 1;
    this.seek.value = String(Math.round((lead.currentTime / length) * 1000));
    this.show(lead.currentTime);
  }
  show(at) {
    this.clock.textContent = `${at.toFixed(1)} s`;
  }
}

function codeBox(code) {
  const area = h("textarea", { class: "omni-g-code", readonly: "readonly", rows: "9" });
  const kinds = Object.keys(code || {});
  const tabs = kinds.map((kind) => h("button", { class: `omni-g-kind omni-g-kind-${kind}`,
    onclick: () => { area.value = code[kind]; } }, kind));
  if (kinds.length) area.value = code[kinds[0]];
  return h("details", { class: "omni-g-copy" }, h("summary", {}, "Copy as code"),
    h("div", {}, tabs), area);
}

function detailBlock(item) {
  const rows = [
    ["task id", item.task_id], ["status", item.status + (item.error ? ` (${item.error})` : "")],
    ["credits (est.)", item.credits ?? "-"], ["created", item.created],
    ["completed", item.completed || "-"], ["latency", item.latency_s != null ? `${item.latency_s} s` : "-"],
    ["file", item.path || "-"],
  ];
  return h("div", { class: "omni-g-detail" },
    h("table", { class: "omni-g-diff" }, rows.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, String(v))))),
    h("details", {}, h("summary", {}, "Full request"), h("pre", { class: "omni-g-request" }, item.request)),
    codeBox(item.code));
}

function render({ model, el }) {
  const blobs = new Map(); // row_id -> object URL of a video sent over the comm
  const waiting = new Map(); // row_id -> video elements waiting for it
  const root = h("div", { class: "omni-g" }, h("style", {}, CSS));
  el.append(root);
  const bar = h("div", { class: "omni-g-bar" });
  const errorLine = h("div", { class: "omni-g-error" });
  const grid = h("div", { class: "omni-g-grid" });
  const pager = h("div", { class: "omni-g-pager" });
  const detail = h("div", { class: "omni-g-focus" });
  const compare = h("div", { class: "omni-g-compare" });
  root.append(bar, errorLine, grid, pager, detail, compare);

  const set = (name, value) => { model.set(name, value); model.save_changes(); };
  let typing;
  function drawBar() {
    const c = model.get("choices") || {};
    bar.replaceChildren(
      h("input", { class: "omni-g-text", type: "search", placeholder: "text in prompt", value: model.get("text"),
        oninput: (e) => { clearTimeout(typing); typing = setTimeout(() => set("text", e.target.value), 250); } }),
      h("select", { class: "omni-g-mode", onchange: (e) => set("mode", e.target.value) }, options(c.mode || [], model.get("mode"), "any mode")),
      h("select", { class: "omni-g-status", onchange: (e) => set("status", e.target.value) }, options(c.status || [], model.get("status"), "any status")),
      h("select", { class: "omni-g-gateway", onchange: (e) => set("gateway", e.target.value) }, options(c.gateway || [], model.get("gateway"), "any gateway")),
      h("label", {}, "from ", h("input", { class: "omni-g-since", type: "date", value: model.get("since"), onchange: (e) => set("since", e.target.value) })),
      h("label", {}, "to ", h("input", { class: "omni-g-until", type: "date", value: model.get("until"), onchange: (e) => set("until", e.target.value) })),
      h("button", { class: "omni-g-refresh", title: "Read the ledger again (new results appear)",
        onclick: () => model.send({ type: "refresh" }) }, "↻ Refresh"),
    );
  }

  function toggle(rowId) {
    const chosen = [...model.get("selected")];
    const at = chosen.indexOf(rowId);
    if (at >= 0) chosen.splice(at, 1);
    else if (chosen.length < 4) chosen.push(rowId);
    set("selected", chosen);
  }

  function drawGrid() {
    const chosen = model.get("selected");
    errorLine.textContent = model.get("error");
    grid.replaceChildren(...model.get("items").map((item) => {
      const thumb = item.poster
        ? h("img", { class: "omni-g-thumb", loading: "lazy", src: item.poster, alt: item.prompt })
        : item.src
          ? h("video", { class: "omni-g-thumb", preload: "none", src: item.src, muted: "muted" })
          : h("div", { class: "omni-g-none" }, item.has_video ? "video" : item.status);
      return h("div", { class: `omni-g-tile${chosen.includes(item.row_id) ? " chosen" : ""}`, "data-row": item.row_id },
        thumb,
        h("div", { class: "omni-g-prompt", title: item.prompt }, item.prompt || "(no prompt)"),
        h("div", { class: "omni-g-meta" }, `${item.mode} · ${item.status} · ${item.gateway}`),
        h("div", { class: "omni-g-meta" }, item.created),
        h("label", { class: "omni-g-meta" },
          h("input", { class: "omni-g-pick", type: "checkbox", checked: chosen.includes(item.row_id) ? "checked" : false,
            disabled: !item.has_video, onchange: () => toggle(item.row_id) }), " compare"),
        h("button", { class: "omni-g-more", onclick: () => set("focus", model.get("focus") === item.row_id ? -1 : item.row_id) }, "Details"));
    }));
    const pages = Math.max(1, Math.ceil(model.get("total") / model.get("page_size")));
    const at = model.get("page");
    pager.replaceChildren(
      h("button", { class: "omni-g-prev", disabled: at <= 0, onclick: () => set("page", at - 1) }, "‹ Newer"),
      h("span", { class: "omni-g-count" }, `page ${at + 1} of ${pages} · ${model.get("total")} result(s)`),
      h("button", { class: "omni-g-next", disabled: at + 1 >= pages, onclick: () => set("page", at + 1) }, "Older ›"),
      h("span", { class: "omni-g-meta" }, chosen.length ? `${chosen.length} picked for comparison (2 to 4)` : "tick 2 to 4 to compare"));
  }

  function videoFor(item) {
    const video = h("video", { class: "omni-g-video", preload: "auto", playsinline: "playsinline", controls: "controls" });
    if (item.src) video.src = item.src;
    else if (blobs.has(item.row_id)) video.src = blobs.get(item.row_id);
    else {
      waiting.set(item.row_id, [...(waiting.get(item.row_id) || []), video]);
      model.send({ type: "video", row_id: item.row_id });
    }
    return video;
  }

  function drawCompare() {
    const items = model.get("compared");
    if (!items.length) { compare.replaceChildren(); return; }
    const differs = new Set(items[0].differs || []);
    const videos = items.map(videoFor);
    const players = h("div", { class: "omni-g-players" }, items.map((item, i) =>
      h("div", { class: "omni-g-player" }, videos[i], h("div", { class: "omni-g-meta" }, item.task_id), detailBlock(item))));
    const names = Object.keys(items[0].settings || {});
    const table = h("table", { class: "omni-g-diff omni-g-settings" },
      h("tr", {}, h("th", {}, "setting"), items.map((item) => h("th", {}, item.task_id))),
      names.map((name) => h("tr", { class: differs.has(name) ? "differs" : "" }, h("th", {}, name),
        items.map((item) => h("td", {}, item.settings[name])))));
    compare.replaceChildren(h("b", {}, items.length > 1 ? `Comparing ${items.length}` : "Pick one more to compare"));
    const controls = h("div", {});
    compare.append(controls, players, table);
    el.omniPlayers = new SyncedPlayers(videos, controls);
  }

  function drawDetail() {
    const item = model.get("detail");
    detail.replaceChildren(...(item && item.row_id !== undefined
      ? [h("b", {}, `Details: ${item.prompt}`), detailBlock(item)] : []));
  }

  model.on("msg:custom", (content, buffers) => {
    if (content.type !== "video") return;
    const url = content.missing ? "" : URL.createObjectURL(new Blob([buffers[0]], { type: "video/mp4" }));
    if (url) blobs.set(content.row_id, url);
    for (const video of waiting.get(content.row_id) || []) video.src = url;
    waiting.delete(content.row_id);
  });
  model.on("change:choices", drawBar);
  model.on("change:items", drawGrid);
  model.on("change:total", drawGrid);
  model.on("change:selected", drawGrid);
  model.on("change:error", drawGrid);
  model.on("change:compared", drawCompare);
  model.on("change:detail", drawDetail);
  drawBar();
  drawGrid();
  drawCompare();
  drawDetail();
  return () => { for (const url of blobs.values()) URL.revokeObjectURL(url); };
}

export default { render };
