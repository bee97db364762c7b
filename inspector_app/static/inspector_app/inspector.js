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
    } catch (e) {
      /* the orders tab keeps its last copy */
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
      SJ.showError(error.message);
      return;
    }
    await loadLocal();
    route();
    SJ.syncSoon();
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

  async function scan(visit, box) {
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices) return;
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    } catch (e) {
      SJ.showError(t("camera_refused"));
      return;
    }
    const video = h("video", { playsinline: true, muted: true, class: "scanner" });
    video.srcObject = stream;
    const stop = () => {
      stream.getTracks().forEach((tr) => tr.stop());
      video.remove();
      cancel.remove();
    };
    const cancel = h("button", { type: "button", onclick: stop }, t("cancel"));
    box.append(video, cancel);
    await video.play();
    const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    const tick = async () => {
      if (!video.isConnected) return;
      try {
        const found = await detector.detect(video);
        if (found.length) {
          stop();
          await checkin(visit, tokenFrom(found[0].rawValue));
          return;
        }
      } catch (e) {
        /* the next frame */
      }
      setTimeout(tick, 300);
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
        SJ.showError(error.message);
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
        const uuids = await addPhotos(visit, Array.from(input.files || []));
        if (uuids.length) await save("yes", [...a.photos, ...uuids]);
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
      if ((server && server.checkin_flagged) || (dist != null && dist > (config.flagDistance || 500) && !data.qr_token)) {
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
        "BarcodeDetector" in window
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
        visit.open_orders.map((o) => h("li", {}, t("open_order", { due: o.due_on, finding: o.finding }))),
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

  async function ordersPage(main) {
    const orders = (await SJ.kvGet("orders")) || [];
    const local = await db.records.where("channel").equals("order").toArray();
    SJ.fill(
      main,
      h("h1", {}, t("orders_title")),
      orders.length ? null : h("p", { class: "muted" }, t("none")),
      h(
        "ul",
        { class: "cards", "data-testid": "orders" },
        orders.map((o) => {
          const sent = local.filter((r) => r.body.order_id === o.id).pop();
          const note = h("textarea", { rows: 2, maxlength: 1000, "data-testid": "verify-note", id: `verify-note-${o.id}` });
          const decide = (accepted) => {
            const text = note.value.trim();
            if (!text) {
              note.focus();
              return;
            }
            SJ.addRecord("order", { order_id: o.id, accepted, note: text }, { label: `${o.institution_name} · ${accepted ? t("verify_accept") : t("verify_reject")}` })
              .then(() => ordersPage(main))
              .then(() => SJ.syncSoon());
          };
          return h(
            "li",
            { class: "card", "data-testid": "order", "data-order": o.id },
            h("strong", {}, o.institution_name),
            h("p", {}, t("order_due", { due: o.due_on }), o.overdue ? " · " + t("overdue") : ""),
            h("p", {}, t("order_required", { text: o.evidence_required })),
            h("p", {}, t("order_response", { text: o.response || "—" })),
            o.followup_inspection_id ? h("a", { href: `#/visit/${o.followup_inspection_id}` }, t("open_followup")) : null,
            sent
              ? h("p", { "data-testid": "verify-state" }, t("verify_sent", { state: t("state_" + sent.state) }), sent.state === "rejected" ? " " + sent.fate.message : "")
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
  function route() {
    if (!mainEl) return;
    const hash = location.hash || "#/";
    const y = window.scrollY;
    const sameView = mainEl.dataset.route === hash;
    mainEl.dataset.route = hash;
    document.querySelectorAll("[data-tab]").forEach((a) => {
      const tab = a.dataset.tab;
      const on = (tab === "today" && (hash === "#/" || hash.startsWith("#/visit"))) || hash === `#/${tab}`;
      if (on) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    });
    const m = hash.match(/^#\/visit\/(\d+)/);
    if (m) visitPage(mainEl, Number(m[1]));
    else if (hash === "#/map") mapPage(mainEl);
    else if (hash === "#/orders") ordersPage(mainEl);
    else if (hash === "#/outbox") SJ.outboxPage(mainEl, { describe: describeRecord, describeValue });
    else listPage(mainEl);
    if (sameView) window.scrollTo(0, y);
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
