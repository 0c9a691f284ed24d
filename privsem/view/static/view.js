// privsem live view: one EventSource on /events; every message is a JSON object with a
// "type" (snapshot, reset, run, image, guard, frame, link, result, resync, server_stopping).
"use strict";

const ROLES = ["bob", "eve"];
const COLOR = { bob: "#1f77b4", eve: "#d62728" };
const $ = (id) => document.getElementById(id);
let model = null;
let stopped = false;

function fresh() {
  return { runs: {}, frames: { bob: [], eve: [] }, results: [], iq: { bob: [], eve: [] } };
}

const fmt = (v, digits = 2) => (v === null || v === undefined ? "—" : Number(v).toFixed(digits));

function setCell(role, key, text, cls) {
  const td = $(`${role}-${key}`);
  if (!td) return;
  td.textContent = text;
  td.className = cls || "";
}

// -- runs and the status line ---------------------------------------------------------
function showRun(run) {
  model.runs[run.id] = run;
  const body = $("runs").tBodies[0];
  let tr = document.getElementById(`run-${run.id}`);
  if (!tr) {
    tr = body.insertRow(0);
    tr.id = `run-${run.id}`;
    for (let i = 0; i < 5; i++) tr.insertCell();
  }
  [run.id, run.command, run.pid ?? "—", run.status, run.message].forEach((v, i) => { tr.cells[i].textContent = v; });
  showStatus();
}

function showStatus() {
  const el = $("status");
  if (stopped) return;
  const runs = Object.values(model.runs);
  if (!runs.length) {
    el.dataset.status = "none";
    el.innerHTML = "Waiting for a run: start <code>privsem loopback … --view</code>, <code>rx … --view</code> or <code>eval … --view</code>.";
    return;
  }
  const running = runs.filter((r) => r.status === "running");
  if (running.length) {
    el.dataset.status = "running";
    el.textContent = "Running: " + running.map((r) => `${r.command} (pid ${r.pid ?? "?"})`).join(", ");
    return;
  }
  const bad = runs.find((r) => r.status !== "ok");
  const last = bad || runs[runs.length - 1];
  el.dataset.status = last.status;
  const what = { ok: "Run ended", error: "Run ended with an error", interrupted: "Run was interrupted",
                 crashed: "Run crashed", lost: "Run lost" }[last.status] || "Run ended";
  el.textContent = `${what}: ${last.command}` + (last.message ? ` — ${last.message}` : "") +
    ". The page keeps the last picture; a new run replaces it.";
}

// -- images, guard, numbers -----------------------------------------------------------
function showImage(im) {
  const fig = $(`fig-${im.name}`);
  if (!fig) return;
  fig.querySelector("img").src = `/image/${im.name}?v=${im.version}&r=${encodeURIComponent(im.run)}`;
  fig.querySelector(".cap").textContent = im.caption ? `— ${im.caption}` : "";
}

function clearImages() {
  document.querySelectorAll("#images img").forEach((img) => img.removeAttribute("src"));
  document.querySelectorAll("#images .cap").forEach((c) => { c.textContent = ""; });
}

function showGuard(g) {
  $("guard").textContent = !g ? "Guard: —" : g.entity
    ? `Guard: removed “${g.entity}” (${g.prompt || "no prompt"}), score ${fmt(g.score, 3)}, ${fmt(100 * g.mask_fraction, 1)} % of the image`
    : "Guard: nothing from the privacy database found; the image is sent whole";
}

function showLink(l) {
  for (const k of ["frames_detected", "frames_lost", "crc_failures", "damaged"]) {
    if (l[k] !== undefined && l[k] !== null) setCell(l.role, k, String(l[k]));
  }
  if (l.frames_sent !== undefined && l.frames_sent !== null) setCell(l.role, "frames_received", `${l.frames_received} / ${l.frames_sent}`);
  if (l.snr_est_db !== undefined) setCell(l.role, "snr_est_db", fmt(l.snr_est_db));
}

function showResult(r, draw = true) {
  model.results.push(r);
  for (const k of ["psnr", "psnr_region", "ssim", "ssim_region"]) setCell(r.role, k, fmt(r[k], k.startsWith("ssim") ? 3 : 2));
  const id = r.identity_recognized;
  setCell(r.role, "identity", id === null || id === undefined ? "—" : id ? `yes (${r.entity})` : "no", id ? "yes" : id === false ? "no" : "");
  if (draw) drawPsnr();
}

function showFrame(f, draw = true) {
  const list = model.frames[f.role];
  list.push(f);
  if (list.length > 400) list.shift();
  setCell(f.role, "snr_db", fmt(f.snr_db));
  setCell(f.role, "cfo_hz", fmt(f.cfo_hz, 1));
  if (f.iq && f.iq.length) model.iq[f.role] = f.iq;
  if (draw) { drawFrames(); drawConst(f.role); }
}

// -- plots ----------------------------------------------------------------------------
function axes(ctx, w, h, x0, x1, y0, y1, xlabel, ylabel) {
  const m = { l: 44, r: 18, t: 22, b: 30 };  // the legend sits in the top margin
  ctx.clearRect(0, 0, w, h);
  ctx.strokeStyle = "#999"; ctx.fillStyle = "#555"; ctx.font = "11px sans-serif"; ctx.lineWidth = 1;
  ctx.strokeRect(m.l, m.t, w - m.l - m.r, h - m.t - m.b);
  const X = (x) => m.l + (x - x0) / (x1 - x0 || 1) * (w - m.l - m.r);
  const Y = (y) => h - m.b - (y - y0) / (y1 - y0 || 1) * (h - m.t - m.b);
  for (let i = 0; i <= 4; i++) {
    const yv = y0 + (y1 - y0) * i / 4, xv = x0 + (x1 - x0) * i / 4;
    ctx.fillText(yv.toFixed(1), 2, Y(yv) + 4);
    ctx.fillText(xv.toFixed(1), X(xv) - 8, h - m.b + 13);
  }
  ctx.fillText(xlabel, w / 2 - 20, h - 4);
  ctx.fillText(ylabel, 4, 12);
  return { X, Y };
}

function range(values, pad) {
  const v = values.filter((x) => x !== null && x !== undefined && isFinite(x));
  if (!v.length) return [0, 1];
  let lo = Math.min(...v), hi = Math.max(...v);
  if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
  return [lo - pad * (hi - lo), hi + pad * (hi - lo)];
}

function series(ctx, pts, X, Y, color, dash, dots) {
  ctx.strokeStyle = color; ctx.fillStyle = color; ctx.setLineDash(dash); ctx.lineWidth = 1.6;
  ctx.beginPath();
  let first = true;
  for (const [x, y] of pts) {
    if (y === null || y === undefined) continue;
    if (first) { ctx.moveTo(X(x), Y(y)); first = false; } else ctx.lineTo(X(x), Y(y));
  }
  ctx.stroke(); ctx.setLineDash([]);
  if (dots) for (const [x, y] of pts) if (y !== null && y !== undefined) { ctx.beginPath(); ctx.arc(X(x), Y(y), 2.5, 0, 7); ctx.fill(); }
}

function legend(ctx, items, x) {
  // one row in the top margin, from x to the right
  ctx.font = "11px sans-serif";
  for (const [label, color, dash] of items) {
    ctx.strokeStyle = color; ctx.setLineDash(dash); ctx.lineWidth = 1.6; ctx.beginPath();
    ctx.moveTo(x, 8); ctx.lineTo(x + 18, 8); ctx.stroke(); ctx.setLineDash([]);
    ctx.fillStyle = "#333"; ctx.fillText(label, x + 22, 12);
    x += 30 + ctx.measureText(label).width;
  }
}

function drawPsnr() {
  const c = $("psnr-plot"), ctx = c.getContext("2d"), rs = model.results;
  // one point per decoded image and receiver
  const xs = rs.map((r) => r.t), ys = rs.flatMap((r) => [r.psnr, r.psnr_region]);
  const [x0, x1] = range(xs.concat([0]), 0.05), [y0, y1] = range(ys, 0.1);
  const { X, Y } = axes(ctx, c.width, c.height, Math.min(0, x0), x1, y0, y1, "time since the run started (s)", "PSNR (dB)");
  for (const role of ROLES) {
    const mine = rs.filter((r) => r.role === role);
    series(ctx, mine.map((r) => [r.t, r.psnr]), X, Y, COLOR[role], [], true);
    series(ctx, mine.map((r) => [r.t, r.psnr_region]), X, Y, COLOR[role], [5, 3], true);
  }
  legend(ctx, [["Bob", COLOR.bob, []], ["Eve", COLOR.eve, []], ["whole image", "#333", []], ["privacy region", "#333", [5, 3]]], 110);
}

function drawFrames() {
  const c = $("frame-plot"), ctx = c.getContext("2d");
  const all = ROLES.flatMap((r) => model.frames[r]);
  const [x0, x1] = range(all.map((f) => f.index), 0.05), [y0, y1] = range(all.map((f) => f.snr_db), 0.15);
  const { X, Y } = axes(ctx, c.width, c.height, x0, x1, y0, y1, "frame number (per receiver)", "frame SNR (dB)");
  for (const role of ROLES) {
    const fs = model.frames[role];
    series(ctx, fs.map((f) => [f.index, f.snr_db]), X, Y, COLOR[role], [], true);
    for (const f of fs) if (!f.crc_ok || f.damaged) { ctx.fillStyle = "#000"; ctx.fillText("×", X(f.index) - 3, Y(f.snr_db ?? y0) + 4); }
  }
  legend(ctx, [["Bob", COLOR.bob, []], ["Eve", COLOR.eve, []]], 140);
  ctx.fillStyle = "#333";
  ctx.fillText("× CRC failed / damaged", c.width - 140, 12);
}

function drawConst(role) {
  const c = $(`const-${role}`), ctx = c.getContext("2d"), w = c.width, h = c.height, s = w / 4;
  ctx.clearRect(0, 0, w, h);
  ctx.strokeStyle = "#ccc"; ctx.beginPath(); ctx.moveTo(0, h / 2); ctx.lineTo(w, h / 2); ctx.moveTo(w / 2, 0); ctx.lineTo(w / 2, h); ctx.stroke();
  ctx.fillStyle = COLOR[role];
  for (const [re, im] of model.iq[role]) ctx.fillRect(w / 2 + re * s - 1, h / 2 - im * s - 1, 2, 2);
  ctx.fillStyle = "#333"; ctx.font = "11px sans-serif";
  ctx.fillText(role === "bob" ? "Bob" : "Eve", 6, 14);
}

function redraw() { drawPsnr(); drawFrames(); ROLES.forEach(drawConst); }

// -- the stream -------------------------------------------------------------------------
function reset() {
  model = fresh();
  clearImages();
  $("runs").tBodies[0].innerHTML = "";
  showGuard(null);
  document.querySelectorAll("#metrics td").forEach((td) => { td.textContent = "—"; td.className = ""; });
}

function snapshot(s) {
  reset();
  (s.runs || []).forEach(showRun);
  (s.images || []).forEach(showImage);
  showGuard(s.guard);
  ROLES.forEach((r) => { if (s.links && s.links[r]) showLink({ role: r, ...s.links[r] }); });
  ROLES.forEach((r) => (s.frames?.[r] || []).forEach((f) => showFrame(f, false)));
  ROLES.forEach((r) => { model.iq[r] = s.iq?.[r] || []; });
  (s.results || []).forEach((r) => showResult(r, false));
  showStatus();
  redraw();
}

function handle(m) {
  switch (m.type) {
    case "snapshot": snapshot(m); break;
    case "reset": reset(); showStatus(); redraw(); break;
    case "run": showRun(m); break;
    case "image": showImage(m); break;
    case "guard": showGuard(m); break;
    case "frame": showFrame(m); break;
    case "link": showLink(m); break;
    case "result": showResult(m); break;
    case "server_stopping":
      stopped = true;
      $("conn").dataset.state = "stopped"; $("conn").textContent = "view server stopped";
      $("status").dataset.status = Object.values(model.runs).some((r) => r.status === "running") ? "stopped" : $("status").dataset.status;
      $("status").textContent += " The view server stopped: restart privsem view and reload to watch again.";
      source.close();
      break;
  }
}

model = fresh();
const source = new EventSource("/events");
source.onopen = () => { $("conn").dataset.state = "connected"; $("conn").textContent = "connected"; };
source.onerror = () => {
  if (stopped) return;
  $("conn").dataset.state = "reconnecting";
  $("conn").textContent = "view server unreachable — retrying";
};
source.onmessage = (e) => handle(JSON.parse(e.data));
redraw();
