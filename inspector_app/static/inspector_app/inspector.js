/* The inspectors' app (inspector_app): today's and this week's visits, a map, a visit done offline, orders to verify.
   Everything a visit records goes to the outbox (outbox.js) first; the server's copy (GET /inspections/{id}) and the
   phone's unsent records together make what the visit page shows. */
(function () {
  "use strict";
  const { t, h, db, api, config } = window.SJ;
  const YES_NO_NA = ["yes", "no", "na"];

  let assigned = { visits: [], checklists: {} };
  let details = {}; // id -> {detail, fetched}
  let records = []; // the outbox's inspection records
  let photos = []; // the outbox's photos (metadata; blobs read when shown)
  let here = null; // {lat, lng, accuracy}
  let map = null;

  // --- Data ---------------------------------------------------------------------------------------------------------
  async function loadLocal() {
    assigned = (await SJ.kvGet("assigned")) || { visits: [], checklists: {} };
    details = {};
    for (const row of await db.visits.toArray()) details[row.id] = row;
    records = (await db.records.where("channel").equals("inspection").toArray()).sort((a, b) => a.created - b.created);
    photos = await db.photos.toArray();
  }

  // From the server when it answers: the visits assigned and each one's server copy (answers, versions, findings).
  async function loadRemote() {
    const data = await api("inspections/assigned");
    await SJ.kvPut("assigned", data);
    const fetched = Date.now();
    const rows = await Promise.all(
      data.visits.slice(0, 40).map((v) =>
        api(`inspections/${v.id}`)
          .then((detail) => ({ id: v.id, detail, fetched }))
          .catch(() => null)
      )
    );
    await SJ.store(() => db.visits.bulkPut(rows.filter(Boolean)));
    try {
      const orders = await api("rectification-orders?status=answered&page_size=50");
      await SJ.kvPut("orders", orders.items);
      await cacheEvidence(orders.items);
    } catch (e) {
      if (e instanceof SJ.SignInNeeded) throw e;
      /* the orders tab keeps its last copy */
    }
  }

  // --- The institutions' evidence for the orders to verify: the list of photos per order (kept in kv, fetched again
  // only when the institution's answer changed) and the photos themselves as Blobs, so the day's orders can be checked
  // with no network. Within reason: at most EVIDENCE_PER_ORDER photos an order and EVIDENCE_MAX_BYTES in all; the
  // evidence of orders no longer waiting for verification is dropped.
  const EVIDENCE_PER_ORDER = 10;
  const EVIDENCE_MAX_BYTES = 40 * 1024 * 1024;

  async function evidenceOf(order) {
    const index = (await SJ.kvGet("evidence_index")) || {};
    const known = index[order.id];
    if (known && known.response === order.response) return known.photos;
    const out = await api(`rectification-orders/${order.id}/evidence`);
    const photos = out.photos.slice(0, EVIDENCE_PER_ORDER).map((p) => p.uuid);
    const next = (await SJ.kvGet("evidence_index")) || {};
    next[order.id] = { response: order.response, photos };
    await SJ.kvPut("evidence_index", next);
    return photos;
  }

  async function evidencePhoto(orderId, photoUuid) {
    const row = await db.evidence.get(photoUuid);
    if (row) return row.blob;
    const blob = await api(`rectification-orders/${orderId}/evidence/${photoUuid}`, { blob: true });
    const used = (await db.evidence.toArray()).reduce((n, r) => n + (r.size || 0), 0);
    if (used + blob.size <= EVIDENCE_MAX_BYTES) {
      try {
        await db.evidence.put({ uuid: photoUuid, order_id: orderId, blob, size: blob.size, fetched: Date.now() });
      } catch (e) {
        /* no room to keep it: shown now, fetched again next time */
      }
    }
    return blob;
  }

  async function cacheEvidence(orders) {
    const ids = new Set(orders.map((o) => o.id));
    await db.evidence.filter((r) => !ids.has(r.order_id)).delete();
    const index = (await SJ.kvGet("evidence_index")) || {};
    const kept = Object.fromEntries(Object.entries(index).filter(([id]) => ids.has(Number(id))));
    if (Object.keys(kept).length !== Object.keys(index).length) await SJ.kvPut("evidence_index", kept);
    for (const order of orders) {
      try {
        for (const photoUuid of await evidenceOf(order)) await evidencePhoto(order.id, photoUuid);
      } catch (error) {
        if (error instanceof SJ.Offline || error instanceof SJ.SignInNeeded) throw error;
        /* this order's evidence is fetched again when it is opened; the other orders go on */
      }
    }
  }

  function visitById(id) {
    return assigned.visits.find((v) => v.id === id) || null;
  }

  function itemsOf(visit) {
    return assigned.checklists[String(visit.checklist_version_id)] || [];
  }

  function localOf(visitId) {
    return records.filter((r) => r.inspection_id === visitId);
  }

  // Records not yet reflected in the server copy the phone holds: unsent, or sent after that copy was fetched.
  function fresh(record, visitId) {
    const row = details[visitId];
    if (record.state === "pending") return true;
    if (record.state === "applied") return !row || (record.done || 0) > row.fetched;
    return false;
  }

  function serverAnswer(visitId, code) {
    const row = details[visitId];
    return row ? row.detail.answers.find((a) => a.item_code === code) || null : null;
  }

  function answerOf(visitId, code) {
    const mine = localOf(visitId).filter(
      (r) => r.body.kind === "answer" && r.body.data.item_code === code && fresh(r, visitId)
    );
    const conflict = localOf(visitId).filter((r) => r.body.kind === "answer" && r.body.data.item_code === code && r.state === "conflict").pop();
    const rejected = localOf(visitId).filter((r) => r.body.kind === "answer" && r.body.data.item_code === code && r.state === "rejected").pop();
    if (mine.length) {
      const last = mine[mine.length - 1];
      return { value: last.body.data.value, photos: last.body.data.photo_uuids || [], record: last, conflict, rejected };
    }
    const server = serverAnswer(visitId, code);
    return { value: server ? server.value : undefined, server, conflict, rejected, photos: [] };
  }

  function baseVersion(visitId, code) {
    const mine = localOf(visitId).filter(
      (r) => r.body.kind === "answer" && r.body.data.item_code === code && fresh(r, visitId)
    );
    if (mine.length) return (mine[mine.length - 1].body.base_version || 0) + 1;
    const conflict = localOf(visitId).filter((r) => r.body.kind === "answer" && r.body.data.item_code === code && r.state === "conflict").pop();
    if (conflict && conflict.fate && conflict.fate.server && conflict.fate.server.version) return conflict.fate.server.version;
    const server = serverAnswer(visitId, code);
    return server ? server.version : null;
  }

  function hasKind(visitId, kind) {
    const row = details[visitId];
    const server = row && row.detail;
    const local = localOf(visitId).some((r) => r.body.kind === kind && r.state !== "rejected");
    if (kind === "checkin") return local || Boolean(server && server.checkin_at);
    if (kind === "checkout") return local || Boolean(server && server.checkout_at);
    if (kind === "acknowledge") return local || Boolean(server && server.acknowledged_by);
    return local;
  }

  // What is done and what is missing on a visit.
  function progress(visit) {
    const items = itemsOf(visit);
    const missing = [];
    let answered = 0;
    for (const item of items) {
      const a = answerOf(visit.id, item.code);
      const done = item.answer_type === "photo" ? a.photos.length > 0 || a.server : a.value !== undefined && a.value !== null;
      if (done) answered += 1;
      else missing.push(item);
    }
    const visitPhotos = photos.filter((p) => p.inspection_id === visit.id);
    return {
      items: items.length,
      answered,
      missing,
      checkin: hasKind(visit.id, "checkin"),
      checkout: hasKind(visit.id, "checkout"),
      acknowledged: hasKind(visit.id, "acknowledge"),
      photosWaiting: visitPhotos.filter((p) => p.state === "pending").length,
      photosRefused: visitPhotos.filter((p) => p.state === "rejected").length,
      unsent: localOf(visit.id).filter((r) => r.state === "pending").length,
      conflicts: localOf(visit.id).filter((r) => r.state === "conflict").length,
      serverStatus: details[visit.id] ? details[visit.id].detail.status : visit.status,
    };
  }

  // Mid-visit (checked in, not yet out): the app does not take a new version now.
  async function busy() {
    await loadLocal();
    return assigned.visits.some((v) => hasKind(v.id, "checkin") && !hasKind(v.id, "checkout"));
  }

  // --- Position -----------------------------------------------------------------------------------------------------
  function locate(timeout) {
    return new Promise((resolve) => {
      if (!navigator.geolocation) return resolve(null);
      navigator.geolocation.getCurrentPosition(
        (p) => resolve({ lat: p.coords.latitude, lng: p.coords.longitude, accuracy: Math.round(p.coords.accuracy) }),
        () => resolve(null),
        { enableHighAccuracy: true, timeout: timeout || 8000, maximumAge: 60000 }
      );
    });
  }

  function metres(lat1, lng1, lat2, lng2) {
    const r = (d) => (d * Math.PI) / 180;
    const dp = r(lat2 - lat1);
    const dl = r(lng2 - lng1);
    const a = Math.sin(dp / 2) ** 2 + Math.cos(r(lat1)) * Math.cos(r(lat2)) * Math.sin(dl / 2) ** 2;
    return 2 * 6371000 * Math.asin(Math.sqrt(a));
  }

  function distanceText(inst, pos) {
    if (!pos || inst.latitude == null || inst.longitude == null) return "";
    const m = metres(pos.lat, pos.lng, Number(inst.latitude), Number(inst.longitude));
    return m >= 1000 ? t("distance_km", { km: (m / 1000).toFixed(1) }) : t("distance_m", { m: Math.round(m) });
  }

  // --- Recording ----------------------------------------------------------------------------------------------------
  async function record(visit, kind, data, label, extra) {
    const body = {
      uuid: SJ.uuid(),
      inspection_id: visit.id,
      kind,
      client_time: SJ.isoNow(),
      data: data || {},
    };
    if (extra && extra.base_version != null) body.base_version = extra.base_version;
    try {
      await SJ.addRecord("inspection", body, { inspection_id: visit.id, label });
    } catch (error) {
      // Not saved (storage full: the message is up): the page stays as it is, with what was typed, for another try.
      if (!(error instanceof SJ.StorageFull)) SJ.showError(error.message);
      return false;
    }
    await loadLocal();
    route({ fresh: true });
    SJ.syncSoon();
    return true;
  }

  async function checkin(visit, qrToken) {
    const status = document.querySelector("[data-testid=checkin-status]");
    if (status) status.textContent = t("locating");
    const pos = await locate();
    const data = {};
    if (pos) Object.assign(data, { latitude: pos.lat.toFixed(6), longitude: pos.lng.toFixed(6), accuracy_m: pos.accuracy });
    if (qrToken) data.qr_token = qrToken;
    if (pos) here = pos;
    data.distance_m = pos && visit.institution.latitude != null
      ? Math.round(metres(pos.lat, pos.lng, Number(visit.institution.latitude), Number(visit.institution.longitude)))
      : null;
    await record(visit, "checkin", data, `${visit.institution.name} · ${t("checkin")}`);
  }

  function tokenFrom(text) {
    const raw = (text || "").trim();
    const m = raw.match(/\/v\/([A-Za-z0-9_-]+)/);
    return (m ? m[1] : raw).slice(0, 40);
  }

  // The poster's code: a link to the public verification page, /v/<token>. Anything else is not the poster's.
  function posterToken(text) {
    const m = (text || "").trim().match(/\/v\/([A-Za-z0-9_-]{1,40})(?:[/?#]|$)/);
    return m ? m[1] : null;
  }

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const el = document.createElement("script");
      el.src = src;
      el.async = true;
      el.onload = () => resolve();
      el.onerror = () => reject(new Error(src));
      document.head.append(el);
    });
  }

  // A function reading a QR code from a video frame: the browser's BarcodeDetector where it reads QR codes (Android,
  // Safari 17+), else the vendored jsQR, loaded on the first scan (kept by the service worker for offline use).
  let reader = null;
  async function qrReader() {
    if (reader) return reader;
    if ("BarcodeDetector" in window) {
      try {
        const formats = await window.BarcodeDetector.getSupportedFormats();
        if (formats.includes("qr_code")) {
          const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
          reader = async (video) => {
            const found = await detector.detect(video);
            return found.length ? found[0].rawValue : null;
          };
          return reader;
        }
      } catch (e) {
        /* fall back to jsQR */
      }
    }
    if (!window.jsQR) await loadScript(config.qrDecoder);
    const canvas = document.createElement("canvas");
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    reader = async (video) => {
      const w = video.videoWidth;
      const ht = video.videoHeight;
      if (!w || !ht) return null;
      const scale = Math.min(1, 800 / Math.max(w, ht));
      canvas.width = Math.round(w * scale);
      canvas.height = Math.round(ht * scale);
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      const frame = ctx.getImageData(0, 0, canvas.width, canvas.height);
      const code = window.jsQR(frame.data, frame.width, frame.height, { inversionAttempts: "attemptBoth" });
      return code ? code.data : null;
    };
    return reader;
  }

  async function scan(visit, box) {
    const say = (text) => {
      let line = box.querySelector("[data-testid=scan-status]");
      if (!line) {
        line = h("p", { class: "muted", role: "status", "data-testid": "scan-status" });
        box.prepend(line);
      }
      line.textContent = text;
    };
    if (box.querySelector("video")) return;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say(t("camera_refused"));
      return;
    }
    say(t("scan_starting"));
    let read;
    try {
      read = await qrReader();
    } catch (e) {
      say(t("scan_unavailable"));
      return;
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (e) {
      say(t("camera_refused"));
      return;
    }
    const video = h("video", { playsinline: true, muted: true, autoplay: true, class: "scanner", "data-testid": "scanner" });
    video.muted = true;
    video.srcObject = stream;
    const stop = () => {
      stream.getTracks().forEach((tr) => tr.stop());
      video.remove();
      cancel.remove();
    };
    const cancel = h("button", { type: "button", "data-testid": "scan-cancel", onclick: stop }, t("cancel"));
    box.append(video, cancel);
    say(t("scan_hint"));
    try {
      await video.play();
    } catch (e) {
      /* autoplay takes over */
    }
    const tick = async () => {
      if (!video.isConnected) {
        stream.getTracks().forEach((tr) => tr.stop()); // the page changed: the camera goes off
        return;
      }
      let text = null;
      try {
        text = await read(video);
      } catch (e) {
        /* the next frame */
      }
      if (text) {
        const token = posterToken(text);
        if (token) {
          stop();
          await checkin(visit, token);
          return;
        }
        say(t("scan_not_poster"));
      }
      setTimeout(tick, 250);
    };
    tick();
  }

  async function addPhotos(visit, files) {
    const uuids = [];
    for (const file of files) {
      try {
        const blob = await SJ.shrink(file);
        const photo = await SJ.addPhoto(visit.id, blob);
        uuids.push(photo.uuid);
      } catch (error) {
        if (!(error instanceof SJ.StorageFull)) SJ.showError(error.message);
        break; // storage full: the photos not kept are not half-saved; the person takes them again after freeing space
      }
    }
    return uuids;
  }

  // --- Pages --------------------------------------------------------------------------------------------------------
  function dayOf(visit) {
    return visit.due_by || SJ.today();
  }

  function weekEnd() {
    const d = new Date();
    const add = (7 - d.getDay()) % 7; // through Sunday
    d.setDate(d.getDate() + add);
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  }

  function visitCard(v) {
    const p = progress(v);
    const inst = v.institution;
    const dist = distanceText(inst, here);
    return h(
      "li",
      {},
      h(
        "a",
        { class: "card visit-card", href: `#/visit/${v.id}`, "data-testid": "visit-card", "data-visit": v.id },
        h("strong", {}, inst.name),
        v.origin === "followup" ? h("span", { class: "tag" }, t("followup")) : null,
        h("span", { class: "muted" }, [inst.town, inst.address].filter(Boolean).join(" · ")),
        dist ? h("span", { class: "muted", "data-testid": "distance" }, dist) : null,
        h("span", { class: "muted" }, t("team", { names: (v.team || []).join("、") })),
        h("span", { class: "muted" }, t("due_by", { date: v.due_by || "—" })),
        v.open_orders.length || v.earlier_findings.length
          ? h("span", { class: "muted" }, t("bring", { orders: v.open_orders.length, findings: v.earlier_findings.length }))
          : null,
        h(
          "span",
          { class: "progress", "data-testid": "visit-progress" },
          p.checkout ? t("checked_out") : p.checkin ? t("in_progress") : t("not_started"),
          " · ",
          t("answered", { n: p.answered, total: p.items })
        )
      )
    );
  }

  function listPage(main) {
    const now = SJ.today();
    const end = weekEnd();
    const todays = assigned.visits.filter((v) => dayOf(v) <= now);
    const week = assigned.visits.filter((v) => dayOf(v) > now && dayOf(v) <= end);
    const later = assigned.visits.filter((v) => dayOf(v) > end);
    const section = (title, rows, testid) =>
      h(
        "section",
        { "data-testid": testid },
        h("h2", {}, title, " ", h("span", { class: "count" }, String(rows.length))),
        rows.length
          ? h("ul", { class: "cards" }, rows.map(visitCard))
          : h("p", { class: "muted" }, t("none"))
      );
    SJ.fill(
      main,
      h("h1", {}, t("my_visits")),
      section(t("today"), todays, "visits-today"),
      section(t("this_week"), week, "visits-week"),
      later.length ? section(t("later"), later, "visits-later") : null
    );
  }

  function mapPage(main) {
    const box = h("div", { id: "map", class: "map", "data-testid": "map" });
    const legend = h("ul", { class: "cards" }, assigned.visits.map(visitCard));
    SJ.fill(main, h("h1", {}, t("map")), box, legend);
    if (!window.L) return;
    if (map) map.remove();
    map = window.L.map(box, { attributionControl: Boolean(config.tileUrl) });
    if (config.tileUrl) {
      window.L.tileLayer(config.tileUrl, { attribution: config.tileAttribution, maxZoom: 19 }).addTo(map);
    }
    const points = [];
    for (const v of assigned.visits) {
      const inst = v.institution;
      if (inst.latitude == null || inst.longitude == null) continue;
      const ll = [Number(inst.latitude), Number(inst.longitude)];
      points.push(ll);
      const done = hasKind(v.id, "checkout");
      window.L.circleMarker(ll, { radius: 10, color: done ? "#15803d" : "#1d4ed8", fillOpacity: 0.7 })
        .addTo(map)
        .bindTooltip(inst.name)
        .on("click", () => {
          location.hash = `#/visit/${v.id}`;
        });
    }
    if (here) {
      points.push([here.lat, here.lng]);
      window.L.circleMarker([here.lat, here.lng], { radius: 6, color: "#b91c1c", fillOpacity: 1 }).addTo(map).bindTooltip(t("you_are_here"));
    }
    if (points.length) map.fitBounds(points, { padding: [30, 30], maxZoom: 16 });
    else map.setView([29.7, 107.39], 11);
  }

  const ANSWER_LABELS = () => ({ yes: t("yes"), no: t("no"), na: t("na") });

  function valueText(value) {
    if (value === undefined || value === null) return "—";
    return ANSWER_LABELS()[value] || String(value);
  }

  function itemRow(visit, item, p) {
    const a = answerOf(visit.id, item.code);
    const lang = (config.lang || "").startsWith("en") ? "en" : "zh";
    const question = lang === "en" ? item.question_en : item.question_zh;
    const save = (value, photoUuids) => {
      const data = { item_code: item.code, value };
      if (photoUuids && photoUuids.length) data.photo_uuids = photoUuids;
      return record(visit, "answer", data, `${visit.institution.name} · ${item.code} ${question}`, {
        base_version: baseVersion(visit.id, item.code),
      });
    };
    let control;
    if (item.answer_type === "yes_no_na") {
      control = h(
        "div",
        { class: "answers", role: "group" },
        YES_NO_NA.map((value) =>
          h(
            "button",
            {
              type: "button",
              class: `answer answer-${value}`,
              "aria-pressed": a.value === value ? "true" : "false",
              "data-testid": `answer-${value}`,
              onclick: () => save(value),
            },
            ANSWER_LABELS()[value]
          )
        )
      );
    } else if (item.answer_type === "number" || item.answer_type === "text") {
      const input =
        item.answer_type === "number"
          ? h("input", { type: "number", inputmode: "decimal", step: "any", "data-testid": "answer-input", value: a.value ?? "" })
          : h("textarea", { rows: 2, maxlength: 2000, "data-testid": "answer-input", value: a.value ?? "" });
      control = h(
        "form",
        {
          class: "inline",
          onsubmit: (event) => {
            event.preventDefault();
            const raw = input.value.trim();
            if (!raw) return;
            save(item.answer_type === "number" ? Number(raw) : raw);
          },
        },
        input,
        h("button", { type: "submit", "data-testid": "answer-save" }, t("save"))
      );
    } else {
      const input = h("input", { type: "file", accept: "image/*", capture: "environment", multiple: true, "data-testid": "photo-input" });
      input.addEventListener("change", async () => {
        const files = Array.from(input.files || []);
        const uuids = await addPhotos(visit, files);
        input.value = ""; // the same pictures may be chosen again (after freeing space)
        const saved = uuids.length ? await save("yes", [...a.photos, ...uuids]) : false;
        if (uuids.length && !saved) {
          await db.photos.bulkDelete(uuids); // the answer naming them was not saved: no photo left without its answer
        }
        if (files.length && !saved && SJ.storageFull() && input.isConnected) SJ.storageFullNotice(input);
      });
      control = h("label", { class: "photo-button" }, t("take_photo"), input);
    }
    const done = item.answer_type === "photo" ? a.photos.length > 0 || a.server : a.value !== undefined && a.value !== null;
    const thumbs = a.photos.length ? h("div", { class: "thumbs", "data-photos": a.photos.join(" ") }) : null;
    if (thumbs) fillThumbs(thumbs, a.photos);
    return h(
      "li",
      { class: `item${done ? " item-done" : ""}`, "data-testid": "item", "data-code": item.code, "data-done": done ? "1" : "0" },
      h("p", { class: "question" }, h("span", { class: "code" }, item.code), " ", question),
      h(
        "p",
        { class: "muted" },
        done ? t("answer_is", { value: item.answer_type === "photo" ? t("n_photos", { n: a.photos.length || 1 }) : valueText(a.value) }) : t("missing"),
        a.record && a.record.state === "pending" ? " · " + t("state_pending") : ""
      ),
      control,
      thumbs,
      a.conflict
        ? h(
            "div",
            { class: "conflict", "data-testid": "conflict" },
            h("p", {}, h("strong", {}, t("conflict_title"))),
            h("p", {}, t("conflict_mine"), " ", h("span", { "data-testid": "conflict-mine" }, valueText(a.conflict.body.data.value))),
            h(
              "p",
              {},
              t("conflict_server"),
              " ",
              h("span", { "data-testid": "conflict-server" }, valueText(a.conflict.fate.server && a.conflict.fate.server.value)),
              " ",
              t("version_n", { n: (a.conflict.fate.server && a.conflict.fate.server.version) || 0 })
            ),
            h("p", { class: "muted" }, t("conflict_next"))
          )
        : null,
      a.rejected && !a.record ? h("p", { class: "reason", "data-testid": "reason" }, t("rejected_because", { reason: a.rejected.fate.message })) : null
    );
  }

  async function fillThumbs(box, uuids) {
    for (const id of uuids) {
      const p = await db.photos.get(id);
      if (!p || !p.blob) continue;
      const img = h("img", { alt: "", width: 64, height: 64, src: URL.createObjectURL(p.blob) });
      box.append(h("span", { class: `thumb state-${p.state}`, "data-state": p.state }, img, p.state === "rejected" ? h("span", { class: "reason" }, p.message) : null));
    }
  }

  function visitPage(main, id) {
    const visit = visitById(id);
    if (!visit) {
      SJ.fill(main, h("p", {}, t("visit_unknown")), h("a", { href: "#/" }, t("back")));
      return;
    }
    const inst = visit.institution;
    const p = progress(visit);
    const local = localOf(visit.id);
    const server = details[visit.id] && details[visit.id].detail;

    // Check-in
    const checkinRecord = local.filter((r) => r.body.kind === "checkin" && r.state !== "rejected").pop();
    const checkinBox = h("section", { class: "card", "data-testid": "checkin" }, h("h2", {}, t("checkin")));
    if (p.checkin) {
      const data = checkinRecord ? checkinRecord.body.data : {};
      const lines = [];
      if (server && server.checkin_at) lines.push(t("checked_in_at", { time: server.checkin_at.slice(11, 16) }));
      else if (checkinRecord) lines.push(t("checked_in_at", { time: checkinRecord.body.client_time.slice(11, 16) }));
      const dist = server && server.checkin_distance_m != null ? server.checkin_distance_m : data.distance_m;
      if (dist != null) lines.push(t("checkin_distance", { m: dist, accuracy: data.accuracy_m != null ? data.accuracy_m : "?" }));
      if (data.qr_token) lines.push(t("presence_by_code"));
      if (!data.latitude && !(server && server.checkin_distance_m != null)) lines.push(t("no_position"));
      // Flagged for the distance: said only when there is one (without a position the line above says it all).
      const far = dist != null && dist > (config.flagDistance || 500) && !data.qr_token;
      if (dist != null && ((server && server.checkin_flagged) || far)) {
        lines.push(t("checkin_flagged", { limit: config.flagDistance || 500 }));
      }
      checkinBox.append(h("p", { "data-testid": "checkin-status" }, lines.join(" · ")));
    } else {
      const refused = local.filter((r) => r.body.kind === "checkin" && r.state === "rejected").pop();
      if (refused) checkinBox.append(h("p", { class: "reason", "data-testid": "reason" }, t("rejected_because", { reason: refused.fate.message })));
      const dist = distanceText(inst, here);
      const code = h("input", { id: "qr-code", "data-testid": "qr-code", autocomplete: "off", placeholder: t("code_placeholder") });
      const scanBox = h("div", { class: "scan" });
      checkinBox.append(
        h("p", { "data-testid": "checkin-status" }, dist ? t("you_are", { distance: dist }) : t("not_checked_in")),
        h("button", { type: "button", class: "primary big", "data-testid": "checkin-gps", onclick: () => checkin(visit) }, t("checkin_gps")),
        navigator.mediaDevices && navigator.mediaDevices.getUserMedia
          ? h("button", { type: "button", class: "big", "data-testid": "checkin-scan", onclick: () => scan(visit, scanBox) }, t("checkin_scan"))
          : null,
        scanBox,
        h(
          "form",
          {
            class: "inline",
            onsubmit: (event) => {
              event.preventDefault();
              const token = tokenFrom(code.value);
              if (token) checkin(visit, token);
            },
          },
          h("label", { for: "qr-code" }, t("checkin_code")),
          code,
          h("button", { type: "submit", "data-testid": "checkin-code" }, t("confirm"))
        )
      );
    }

    // Checklist
    const items = itemsOf(visit);
    const checklist = h(
      "section",
      { class: "card", "data-testid": "checklist" },
      h("h2", {}, t("checklist"), " ", h("span", { class: "count", "data-testid": "answered-count" }, `${p.answered}/${p.items}`)),
      h("ol", { class: "items" }, items.map((item) => itemRow(visit, item, p)))
    );

    // Findings
    const findingsLocal = local.filter((r) => r.body.kind === "finding");
    const serverFindings = (server && server.findings) || [];
    const itemSelect = h(
      "select",
      { id: "finding-item", "data-testid": "finding-item" },
      h("option", { value: "" }, t("finding_no_item")),
      items.map((i) => h("option", { value: i.code }, `${i.code} ${i.question_zh}`.slice(0, 60)))
    );
    const severity = h(
      "select",
      { id: "finding-severity", "data-testid": "finding-severity" },
      ["low", "medium", "high"].map((s) => h("option", { value: s }, t("severity_" + s)))
    );
    severity.value = "medium";
    const description = h("textarea", { id: "finding-description", rows: 2, maxlength: 2000, "data-testid": "finding-description" });
    const findingsBox = h(
      "section",
      { class: "card", "data-testid": "findings" },
      h("h2", {}, t("findings")),
      h(
        "ul",
        { class: "plain" },
        serverFindings.map((f) => h("li", {}, `[${t("severity_" + f.severity)}] ${f.rule_id} ${f.description}`)),
        findingsLocal
          .filter((r) => fresh(r, visit.id) || r.state !== "applied")
          .map((r) =>
            h(
              "li",
              { "data-testid": "finding", "data-state": r.state },
              `[${t("severity_" + r.body.data.severity)}] ${r.body.data.description}`,
              r.state === "rejected" ? h("span", { class: "reason" }, " " + r.fate.message) : null
            )
          )
      ),
      h(
        "form",
        {
          class: "stack",
          onsubmit: (event) => {
            event.preventDefault();
            const text = description.value.trim();
            if (!text) return;
            const data = { severity: severity.value, description: text };
            if (itemSelect.value) data.item_code = itemSelect.value;
            else data.rule_id = "OTHER";
            record(visit, "finding", data, `${inst.name} · ${t("finding")}: ${text.slice(0, 30)}`);
          },
        },
        h("label", { for: "finding-item" }, t("finding_item")),
        itemSelect,
        h("label", { for: "finding-severity" }, t("severity")),
        severity,
        h("label", { for: "finding-description" }, t("finding_description")),
        description,
        h("button", { type: "submit", "data-testid": "finding-add" }, t("finding_add"))
      )
    );

    // Notes
    const note = h("textarea", { id: "note-text", rows: 2, maxlength: 2000, "data-testid": "note-text" });
    const notesBox = h(
      "section",
      { class: "card" },
      h("h2", {}, t("notes")),
      server && server.notes ? h("p", { class: "pre" }, server.notes) : null,
      h(
        "ul",
        { class: "plain" },
        local.filter((r) => r.body.kind === "note" && fresh(r, visit.id)).map((r) => h("li", {}, r.body.data.text))
      ),
      h(
        "form",
        {
          class: "stack",
          onsubmit: (event) => {
            event.preventDefault();
            const text = note.value.trim();
            if (text) record(visit, "note", { text }, `${inst.name} · ${t("note")}`);
          },
        },
        h("label", { for: "note-text" }, t("note")),
        note,
        h("button", { type: "submit", "data-testid": "note-add" }, t("note_add"))
      )
    );

    // Acknowledgement and check-out
    const ackName = h("input", { id: "ack-name", maxlength: 50, "data-testid": "ack-name", autocomplete: "off" });
    const ackRecord = local.filter((r) => r.body.kind === "acknowledge" && r.state !== "rejected").pop();
    const finishBox = h(
      "section",
      { class: "card", "data-testid": "finish" },
      h("h2", {}, t("acknowledge")),
      p.acknowledged
        ? h("p", { "data-testid": "ack-status" }, t("acknowledged_by", { name: (server && server.acknowledged_by) || (ackRecord && ackRecord.body.data.name) || "" }))
        : h(
            "form",
            {
              class: "inline",
              onsubmit: (event) => {
                event.preventDefault();
                const name = ackName.value.trim();
                if (name) record(visit, "acknowledge", { name }, `${inst.name} · ${t("acknowledge")}: ${name}`);
              },
            },
            h("label", { for: "ack-name" }, t("ack_name")),
            ackName,
            h("button", { type: "submit", "data-testid": "ack-save" }, t("confirm"))
          ),
      h("h2", {}, t("checkout")),
      p.checkout
        ? h("p", { "data-testid": "checkout-status" }, t("checked_out"))
        : h(
            "button",
            {
              type: "button",
              class: "primary big",
              "data-testid": "checkout",
              disabled: !p.checkin,
              onclick: () => {
                if (p.missing.length && !window.confirm(t("checkout_missing", { n: p.missing.length }))) return;
                record(visit, "checkout", {}, `${inst.name} · ${t("checkout")}`);
              },
            },
            t("checkout")
          )
    );

    // What is done, what is missing
    const summary = h(
      "section",
      { class: "card summary", "data-testid": "visit-summary" },
      h(
        "ul",
        { class: "plain" },
        h("li", { "data-testid": "sum-checkin", "data-done": p.checkin ? "1" : "0" }, (p.checkin ? "✓ " : "○ ") + t("checkin")),
        h("li", { "data-testid": "sum-items", "data-done": p.missing.length ? "0" : "1" }, (p.missing.length ? "○ " : "✓ ") + t("answered", { n: p.answered, total: p.items })),
        h("li", { "data-testid": "sum-ack", "data-done": p.acknowledged ? "1" : "0" }, (p.acknowledged ? "✓ " : "○ ") + t("acknowledge")),
        h("li", { "data-testid": "sum-checkout", "data-done": p.checkout ? "1" : "0" }, (p.checkout ? "✓ " : "○ ") + t("checkout")),
        p.unsent || p.photosWaiting
          ? h("li", { "data-testid": "sum-unsent" }, t("visit_unsent", { n: p.unsent, photos: p.photosWaiting }))
          : null,
        p.photosRefused ? h("li", { class: "reason" }, t("photos_refused", { n: p.photosRefused })) : null,
        p.conflicts ? h("li", { class: "reason" }, t("visit_conflicts", { n: p.conflicts })) : null,
        h("li", { "data-testid": "server-status", "data-status": p.serverStatus }, t("server_status", { status: t("status_" + p.serverStatus) }))
      ),
      p.missing.length
        ? h("p", { class: "muted", "data-testid": "missing" }, t("missing_items", { codes: p.missing.map((i) => i.code).join("、") }))
        : null
    );

    // What to bring
    const bring = h(
      "section",
      { class: "card" },
      h("h2", {}, t("what_to_bring")),
      h(
        "ul",
        { class: "plain", "data-testid": "bring" },
        visit.open_orders.map((o) =>
          h(
            "li",
            {},
            t("open_order", { due: o.due_on, finding: o.finding }),
            o.status === "answered"
              ? [" ", h("a", { href: `#/order/${o.id}`, "data-testid": "order-link" }, t("order_check"))]
              : null
          )
        ),
        visit.earlier_findings.map((f) => h("li", {}, t("earlier_finding", { date: f.date, text: `${f.rule_id} ${f.description}` }))),
        !visit.open_orders.length && !visit.earlier_findings.length ? h("li", { class: "muted" }, t("nothing_to_bring")) : null
      )
    );

    SJ.fill(
      main,
      h("a", { href: "#/", class: "back" }, t("back")),
      h("h1", { "data-testid": "visit-title" }, inst.name, visit.origin === "followup" ? h("span", { class: "tag" }, t("followup")) : null),
      h("p", { class: "muted" }, [inst.town, inst.address].filter(Boolean).join(" · ")),
      h("p", { class: "muted" }, t("team", { names: (visit.team || []).join("、") })),
      summary,
      bring,
      checkinBox,
      checklist,
      findingsBox,
      notesBox,
      finishBox
    );
  }

  // The orders waiting for verification (or one of them, from a follow-up visit): what was required, what the
  // institution answered with its photos (kept on the phone), and the inspector's decision, recorded offline first.
  async function ordersPage(main, onlyId) {
    const all = (await SJ.kvGet("orders")) || [];
    const orders = onlyId ? all.filter((o) => o.id === onlyId) : all;
    const index = (await SJ.kvGet("evidence_index")) || {};
    const local = await db.records.where("channel").equals("order").toArray();
    SJ.fill(
      main,
      onlyId ? h("a", { href: "#/orders", class: "back" }, t("back")) : null,
      h("h1", {}, t("orders_title")),
      orders.length ? null : h("p", { class: "muted" }, onlyId ? t("order_unknown") : t("none")),
      h(
        "ul",
        { class: "cards", "data-testid": "orders" },
        orders.map((o) => {
          const sent = local.filter((r) => r.body.order_id === o.id && r.state !== "rejected").pop();
          const refused = local.filter((r) => r.body.order_id === o.id && r.state === "rejected").pop();
          const note = h("textarea", { rows: 2, maxlength: 1000, "data-testid": "verify-note", id: `verify-note-${o.id}` });
          const decide = async (accepted) => {
            const text = note.value.trim();
            if (!text) {
              note.focus();
              return;
            }
            try {
              await SJ.addRecord(
                "order",
                { order_id: o.id, accepted, note: text },
                { label: `${o.institution_name} · ${accepted ? t("verify_accept") : t("verify_reject")}` }
              );
            } catch (error) {
              // Storage full: the note stays in its box, for another tap once space is freed.
              if (!(error instanceof SJ.StorageFull)) SJ.showError(error.message);
              return;
            }
            route({ fresh: true });
            SJ.syncSoon();
          };
          const known = index[o.id];
          const photos = known ? known.photos : [];
          const evidence = h("div", { class: "thumbs evidence", "data-testid": "evidence-photos" });
          if (photos.length) fillEvidence(evidence, o.id, photos);
          return h(
            "li",
            { class: "card", "data-testid": "order", "data-order": o.id },
            h("strong", {}, o.institution_name),
            h("p", {}, t("order_due", { due: o.due_on }), o.overdue ? " · " + t("overdue") : ""),
            h("p", {}, t("order_required", { text: o.evidence_required })),
            h("h3", {}, t("order_evidence")),
            h("p", { class: "pre", "data-testid": "evidence-text" }, o.response || "—"),
            photos.length ? evidence : known ? h("p", { class: "muted" }, t("evidence_no_photos")) : h("p", { class: "muted" }, t("evidence_not_loaded")),
            o.followup_inspection_id ? h("a", { href: `#/visit/${o.followup_inspection_id}` }, t("open_followup")) : null,
            refused ? h("p", { class: "reason", "data-testid": "reason" }, t("rejected_because", { reason: refused.fate.message })) : null,
            sent
              ? h("p", { "data-testid": "verify-state", "data-state": sent.state }, t("verify_sent", { state: t("state_" + sent.state) }), " · ", sent.body.accepted ? t("verify_accept") : t("verify_reject"))
              : h(
                  "div",
                  { class: "stack" },
                  h("label", { for: `verify-note-${o.id}` }, t("verify_note")),
                  note,
                  h(
                    "div",
                    { class: "answers" },
                    h("button", { type: "button", class: "answer answer-yes", "data-testid": "verify-accept", onclick: () => decide(true) }, t("verify_accept")),
                    h("button", { type: "button", class: "answer answer-no", "data-testid": "verify-reject", onclick: () => decide(false) }, t("verify_reject"))
                  )
                )
          );
        })
      )
    );
  }

  // The evidence photos from the phone's copy (fetched now if missing and the network is there); a tap opens one whole.
  async function fillEvidence(box, orderId, photos) {
    for (const [i, photoUuid] of photos.entries()) {
      let blob = null;
      try {
        blob = await evidencePhoto(orderId, photoUuid);
      } catch (e) {
        blob = null;
      }
      if (!box.isConnected) return;
      if (!blob) {
        box.append(h("span", { class: "thumb muted", "data-testid": "evidence-missing" }, t("evidence_offline")));
        continue;
      }
      const url = URL.createObjectURL(blob);
      box.append(
        h(
          "a",
          { class: "thumb", href: url, target: "_blank", rel: "noopener" },
          h("img", { src: url, alt: t("evidence_photo_n", { n: i + 1 }), width: 96, height: 96, "data-testid": "evidence-photo" })
        )
      );
    }
  }

  function describeRecord(r) {
    return r.label || `${r.channel} ${r.body && r.body.kind ? r.body.kind : ""}`;
  }

  function describeValue(r, which) {
    if (which === "mine") {
      const d = r.body.data || {};
      return d.value !== undefined ? valueText(d.value) : d.name || d.checkin_at || JSON.stringify(d);
    }
    const s = (r.fate && r.fate.server) || {};
    return s.value !== undefined ? `${valueText(s.value)} (${t("version_n", { n: s.version })})` : s.acknowledged_by || s.checkin_at || s.checkout_at || JSON.stringify(s);
  }

  // --- Routing ------------------------------------------------------------------------------------------------------
  let mainEl = null;

  // What is typed in the page's fields (by id), so a redraw of the same page (after a sync, a change elsewhere) keeps it;
  // a redraw after a successful save ({fresh: true}) starts the fields empty.
  function typed() {
    const out = {};
    mainEl.querySelectorAll("input[id], textarea[id], select[id]").forEach((el) => {
      if (el.type !== "file" && el.value !== "") out[el.id] = el.value;
    });
    return out;
  }

  function retype(values) {
    for (const [id, value] of Object.entries(values)) {
      const el = document.getElementById(id);
      if (el && mainEl.contains(el) && el.type !== "file") el.value = value;
    }
  }

  function route(opts) {
    if (!mainEl) return;
    const hash = location.hash || "#/";
    const y = window.scrollY;
    const sameView = mainEl.dataset.route === hash;
    const keep = sameView && !(opts && opts.fresh) ? typed() : null;
    mainEl.dataset.route = hash;
    document.querySelectorAll("[data-tab]").forEach((a) => {
      const tab = a.dataset.tab;
      const on =
        (tab === "today" && (hash === "#/" || hash.startsWith("#/visit"))) ||
        (tab === "orders" && hash.startsWith("#/order/")) ||
        hash === `#/${tab}`;
      if (on) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    });
    const m = hash.match(/^#\/visit\/(\d+)/);
    const order = hash.match(/^#\/order\/(\d+)/);
    let drawn;
    if (m) drawn = visitPage(mainEl, Number(m[1]));
    else if (hash === "#/map") drawn = mapPage(mainEl);
    else if (order) drawn = ordersPage(mainEl, Number(order[1]));
    else if (hash === "#/orders") drawn = ordersPage(mainEl);
    else if (hash === "#/outbox") drawn = SJ.outboxPage(mainEl, { describe: describeRecord, describeValue });
    else drawn = listPage(mainEl);
    Promise.resolve(drawn).then(() => {
      if (keep) retype(keep);
      if (sameView) window.scrollTo(0, y);
    });
  }

  async function start(main) {
    mainEl = main;
    await loadLocal();
    route();
    locate(5000).then((pos) => {
      if (pos) {
        here = pos;
        if (!location.hash.startsWith("#/visit") && location.hash !== "#/outbox") route();
      }
    });
  }

  // After each sync: the server's copies again (when it answers), then the page.
  async function afterSync() {
    try {
      await loadRemote();
    } catch (error) {
      if (!(error instanceof SJ.Offline)) throw error;
    }
    await loadLocal();
    const active = document.activeElement;
    if (!active || !["INPUT", "TEXTAREA", "SELECT"].includes(active.tagName)) route();
  }

  window.addEventListener("hashchange", route);
  SJ.onChange(() => {
    if (location.hash === "#/outbox") route();
  });
  SJ.boot({ start, busy, afterSync });
})();
