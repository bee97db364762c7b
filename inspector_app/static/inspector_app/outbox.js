/* The phone apps' common ground (inspector_app): tokens, the outbox in IndexedDB (Dexie), sending it, the service
   worker and its updates, the banners. Every action is written to the outbox first, with its client UUID, then sent to
   the same /api/v1 endpoints a native app uses: resending is always safe, the server's idempotency does the rest.
   Sending happens when the app opens, when the browser says it is online, and on the "同步" button (iOS Safari has no
   Background Sync). */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("app-config").textContent);
  const STRINGS = JSON.parse(document.getElementById("app-strings").textContent);
  const INSPECTION_BATCH = 50;
  const ATTENDANCE_BATCH = 200;
  const SKEW_WARN_MS = 10 * 60 * 1000;

  function t(key, vars) {
    let s = STRINGS[key] || key;
    for (const [k, v] of Object.entries(vars || {})) s = s.split("{" + k + "}").join(String(v));
    return s;
  }

  // --- DOM: elements made by hand (never HTML from data), handlers attached (the CSP forbids inline ones) -----------
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k === "value" || k === "checked" || k === "disabled") el[k] = v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c == null || c === false) continue;
      el.append(c instanceof Node ? c : String(c));
    }
    return el;
  }

  const $ = (id) => document.getElementById(id);

  // Replace a container's children (arrays flattened, nothing for null or false).
  function fill(el, ...children) {
    el.replaceChildren(...children.flat(Infinity).filter((c) => c != null && c !== false));
  }

  function showError(message) {
    const el = $("banner-error");
    if (!el) return;
    el.textContent = message || "";
    el.hidden = !message;
  }

  // --- The phone's storage -----------------------------------------------------------------------------------------
  const db = new Dexie("sj-phone");
  db.version(1).stores({
    kv: "key",
    records: "uuid, state, channel, inspection_id, created",
    photos: "uuid, state, inspection_id, created",
    visits: "id",
    sessions: "key",
  });
  // The institutions' evidence for the orders an inspector verifies (photo Blobs), kept for offline viewing.
  db.version(2).stores({ evidence: "uuid, order_id, fetched" });

  // A full disk, however the browser and Dexie dress it: QuotaExceededError itself (legacy code 22), or inside
  // Dexie's wrappers (AbortError with an inner error, BulkError with failures).
  function isQuota(error, depth) {
    if (!error || (depth || 0) > 4) return false;
    if (/Quota/i.test(error.name || "") || error.code === 22) return true;
    const failures = error.failures ? Object.values(error.failures) : [];
    if (failures.some((f) => isQuota(f, (depth || 0) + 1))) return true;
    return isQuota(error.inner || error.cause, (depth || 0) + 1);
  }

  class StorageFull extends Error {}

  // Storage full: the banner and, next to the form or buttons the person just used, the same words; the form keeps
  // what was typed, so the same tap saves it once space is freed. Cleared by the next write that succeeds.
  let fullShown = false;
  function storageFullNotice(near) {
    fullShown = true;
    showError(t("storage_full"));
    document.querySelectorAll("[data-testid=storage-full]").forEach((el) => el.remove());
    const active = near || document.activeElement;
    const anchor = active && active !== document.body ? active.closest("form, .answers, label, .actions, section") : null;
    if (anchor && anchor.parentNode) {
      anchor.after(h("p", { class: "form-error", role: "alert", "data-testid": "storage-full" }, t("storage_full")));
    }
  }

  function storageFullCleared() {
    if (!fullShown) return;
    fullShown = false;
    showError("");
    document.querySelectorAll("[data-testid=storage-full]").forEach((el) => el.remove());
  }

  // A write to the phone's storage: on a full disk, a clear message and a refusal (nothing is silently dropped: the
  // caller keeps the person's input, and what the outbox already holds is untouched, the failed write being atomic).
  async function store(fn) {
    let out;
    try {
      out = await fn();
    } catch (error) {
      if (isQuota(error)) {
        storageFullNotice();
        throw new StorageFull(t("storage_full"));
      }
      throw error;
    }
    storageFullCleared();
    return out;
  }

  async function kvGet(key) {
    const row = await db.kv.get(key);
    return row ? row.value : undefined;
  }

  function kvPut(key, value) {
    return store(() => db.kv.put({ key, value }));
  }

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const x = Array.from(b, (n) => n.toString(16).padStart(2, "0")).join("");
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
  }

  async function sha256(blob) {
    const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
    return Array.from(new Uint8Array(digest), (n) => n.toString(16).padStart(2, "0")).join("");
  }

  // The time of a record, in the phone's time zone with its offset, as the server reads it (ISO 8601).
  function isoNow() {
    const d = new Date(stampNow());
    const off = -d.getTimezoneOffset();
    const sign = off >= 0 ? "+" : "-";
    const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, "0");
    return (
      `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:` +
      `${pad(d.getSeconds())}${sign}${pad(off / 60)}:${pad(off % 60)}`
    );
  }

  function today() {
    const d = new Date();
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  }

  // --- Errors --------------------------------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, error) {
      super((error && error.message) || `HTTP ${status}`);
      this.status = status;
      this.code = (error && error.code) || "";
      this.fields = (error && error.fields) || {};
    }
  }
  class Offline extends Error {}
  class SignInNeeded extends Error {}

  // --- The server's clock: a phone far off is told so. The server refuses records more than 10 minutes in its future,
  // so a visit done on a phone set hours ahead would be refused whole: a phone ahead stamps its records in the server's
  // time instead. The offset is kept across restarts (the app may be opened again offline). Only a phone ahead is
  // corrected: stamps moved earlier are never refused, even if the phone's clock is set right before they are sent;
  // a phone behind keeps its own time (the server takes past times).
  const SKEW_KEY = "sj-clock-skew";
  const SKEW_CORRECT_MS = 60 * 1000;
  let skewMs = 0;
  try {
    skewMs = Number(localStorage.getItem(SKEW_KEY)) || 0;
  } catch (e) {
    /* private mode: measured again at the first answer */
  }

  function showClock() {
    const el = $("banner-clock");
    if (!el) return;
    const off = Math.abs(skewMs) > SKEW_WARN_MS;
    el.hidden = !off;
    if (off) el.textContent = t("clock_off", { minutes: Math.round(Math.abs(skewMs) / 60000) });
  }

  function noteClock(answer) {
    const date = Date.parse(answer.headers.get("Date") || "");
    if (!date) return;
    skewMs = date - Date.now();
    try {
      localStorage.setItem(SKEW_KEY, String(skewMs));
    } catch (e) {
      /* private mode */
    }
    showClock();
  }

  // The time records are stamped with: the phone's, or the server's when the phone is ahead of it.
  function stampNow() {
    return skewMs < -SKEW_CORRECT_MS ? Date.now() + skewMs : Date.now();
  }

  // --- Tokens --------------------------------------------------------------------------------------------------------
  function tokens(body) {
    return {
      access: body.access_token,
      access_exp: body.access_expires_at,
      refresh: body.refresh_token,
      refresh_exp: body.refresh_expires_at,
    };
  }

  function deviceName() {
    const ua = navigator.userAgent;
    const kind = /iPhone|iPad/.test(ua) ? "iPhone" : /Android/.test(ua) ? "Android" : "Browser";
    return `${config.app} · ${kind}`.slice(0, 100);
  }

  async function post(path, json) {
    let answer;
    try {
      answer = await fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept-Language": config.lang },
        body: JSON.stringify(json),
        credentials: "omit",
      });
    } catch (e) {
      throw new Offline(t("offline"));
    }
    noteClock(answer);
    const body = await answer.json().catch(() => ({}));
    if (!answer.ok) throw new ApiError(answer.status, body.error);
    return body;
  }

  async function pendingCount() {
    const [records, photos] = await Promise.all([
      db.records.where("state").equals("pending").count(),
      db.photos.where("state").equals("pending").count(),
    ]);
    return records + photos;
  }

  async function signIn(login, password) {
    const pair = tokens(await post(config.api + "auth/login", { login, password, device: deviceName() }));
    const me = await fetch(config.api + "me", {
      headers: { Authorization: "Bearer " + pair.access },
      credentials: "omit",
    }).then((r) => r.json());
    const before = await kvGet("auth");
    if (before && before.user && before.user.id !== me.id) {
      const n = await pendingCount();
      if (n) {
        await fetch(config.api + "auth/logout", {
          method: "POST",
          headers: { Authorization: "Bearer " + pair.access },
        }).catch(() => null);
        throw new Error(t("other_user_pending", { name: before.user.name, n }));
      }
      await clearData();
    }
    await kvPut("auth", { ...pair, user: { id: me.id, name: me.name, roles: me.roles } });
    persist();
    return me;
  }

  let refreshing = null;
  function refresh(auth) {
    if (!refreshing) {
      refreshing = (async () => {
        try {
          const next = { ...auth, ...tokens(await post(config.api + "auth/refresh", { refresh_token: auth.refresh })) };
          await kvPut("auth", next);
          return next;
        } catch (error) {
          if (error instanceof ApiError && error.status === 401) {
            await sessionEnded(auth, error);
            throw new SignInNeeded(error.message);
          }
          throw error;
        }
      })().finally(() => {
        refreshing = null;
      });
    }
    return refreshing;
  }

  // Refused for good. A phone the bureau cut off as lost wipes its data; any other ending (signed out elsewhere, a
  // replayed token, expiry) keeps the unsent records until the person signs in again.
  async function sessionEnded(auth, error) {
    let wipe = false;
    try {
      wipe = (await post(config.deviceStatus, { refresh_token: auth.refresh || "" })).wipe === true;
    } catch (e) {
      wipe = false;
    }
    if (wipe) {
      await wipeAll();
      localStorage.setItem("sj-notice", t("wiped"));
      return;
    }
    await kvPut("auth", { user: auth.user, revoked: true, reason: (error && error.message) || "" });
  }

  async function currentAuth() {
    const auth = await kvGet("auth");
    return auth && auth.access && !auth.revoked ? auth : null;
  }

  async function api(path, options) {
    const opts = options || {};
    let auth = await currentAuth();
    if (!auth) throw new SignInNeeded(t("sign_in_again"));
    if (Date.parse(auth.access_exp) - (Date.now() + skewMs) < 30000) auth = await refresh(auth);
    const headers = { Authorization: "Bearer " + auth.access, "Accept-Language": config.lang };
    let body;
    if (opts.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(opts.json);
    } else if (opts.form) {
      body = opts.form;
    }
    let answer;
    try {
      answer = await fetch(config.api + path, { method: opts.method || "GET", headers, body, credentials: "omit" });
    } catch (e) {
      throw new Offline(t("offline"));
    }
    noteClock(answer);
    const data =
      answer.status === 204 ? null : opts.blob && answer.ok ? await answer.blob() : await answer.json().catch(() => null);
    if (answer.status === 401 && !opts.retried) {
      const code = (data && data.error && data.error.code) || "";
      if (code === "auth.token_expired" || code === "auth.invalid_token") {
        await refresh(auth);
        return api(path, { ...opts, retried: true });
      }
      await sessionEnded(auth, data && data.error);
      throw new SignInNeeded((data && data.error && data.error.message) || t("sign_in_again"));
    }
    if (!answer.ok) throw new ApiError(answer.status, data && data.error);
    return data;
  }

  async function clearData() {
    await Promise.all([
      db.records.clear(),
      db.photos.clear(),
      db.visits.clear(),
      db.sessions.clear(),
      db.evidence.clear(),
      db.kv.clear(),
    ]);
  }

  async function wipeAll() {
    await clearData();
  }

  async function signOut() {
    const n = await pendingCount();
    const question = n ? t("sign_out_pending", { n }) : t("sign_out_confirm");
    if (!window.confirm(question)) return false;
    const auth = await currentAuth();
    if (auth) {
      await fetch(config.api + "auth/logout", {
        method: "POST",
        headers: { Authorization: "Bearer " + auth.access },
        credentials: "omit",
      }).catch(() => null);
    }
    await wipeAll();
    return true;
  }

  // --- Persistent storage and the space used -----------------------------------------------------------------------
  async function persist() {
    try {
      if (navigator.storage && navigator.storage.persist) return await navigator.storage.persist();
    } catch (e) {
      /* not offered by this browser */
    }
    return false;
  }

  async function storageLine() {
    if (!navigator.storage || !navigator.storage.estimate) return t("storage_unknown");
    const est = await navigator.storage.estimate();
    const persisted = navigator.storage.persisted ? await navigator.storage.persisted() : false;
    const mb = (n) => ((n || 0) / 1048576).toFixed(1);
    return t("storage_used", { used: mb(est.usage), quota: mb(est.quota) }) + " · " +
      (persisted ? t("storage_persisted") : t("storage_not_persisted"));
  }

  // --- The outbox ----------------------------------------------------------------------------------------------------
  // A record: {uuid, channel: inspection | attendance | order, state: pending | applied | already_applied | conflict |
  // rejected, created, inspection_id?, body (what is sent), label (what the person sees), fate {code, message, server}}
  async function addRecord(channel, body, extra) {
    const record = {
      uuid: body.uuid || body.client_uuid || uuid(),
      channel,
      state: "pending",
      created: Date.now(),
      body,
      ...(extra || {}),
    };
    await store(() => db.records.put(record));
    changed();
    return record;
  }

  async function addPhoto(inspectionId, blob, extra) {
    const photo = {
      uuid: uuid(),
      inspection_id: inspectionId,
      blob,
      size: blob.size,
      sha256: await sha256(blob),
      state: "pending",
      created: Date.now(),
      tries: 0,
      ...(extra || {}),
    };
    await store(() => db.photos.put(photo));
    return photo;
  }

  // A photo shrunk on the phone before it is queued: 1600 px on its long side, JPEG.
  async function shrink(file, max, quality) {
    const longest = max || 1600;
    let source;
    let width;
    let height;
    try {
      source = await createImageBitmap(file, { imageOrientation: "from-image" });
      width = source.width;
      height = source.height;
    } catch (e) {
      source = await new Promise((resolve, reject) => {
        const img = new Image();
        img.onload = () => resolve(img);
        img.onerror = reject;
        img.src = URL.createObjectURL(file);
      });
      width = source.naturalWidth;
      height = source.naturalHeight;
    }
    const scale = Math.min(1, longest / Math.max(width, height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    canvas.getContext("2d").drawImage(source, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality || 0.8));
  }

  const listeners = [];
  function onChange(fn) {
    listeners.push(fn);
  }
  function changed() {
    refreshPending();
    for (const fn of listeners) fn();
  }

  async function refreshPending() {
    const n = await pendingCount();
    const text = $("pending-text");
    if (text) text.textContent = n ? t("n_pending", { n }) : t("none_pending");
    try {
      localStorage.setItem("sj-pending", String(n)); // for the home's "待同步记录" card, which counts on the phone
    } catch (e) {
      /* private mode */
    }
    document.querySelectorAll("[data-pending-badge]").forEach((b) => {
      b.textContent = String(n);
      b.hidden = !n;
    });
    return n;
  }

  function setSyncState(text) {
    const el = $("sync-state");
    if (el) el.textContent = text || "";
  }

  function fateOf(status) {
    return ["applied", "already_applied", "conflict", "rejected"].includes(status) ? status : "rejected";
  }

  async function sendInspectionRecords(pending) {
    const records = pending.filter((r) => r.channel === "inspection");
    for (let i = 0; i < records.length; i += INSPECTION_BATCH) {
      const batch = records.slice(i, i + INSPECTION_BATCH);
      let results;
      try {
        results = (await api("inspections/sync", { method: "POST", json: { records: batch.map((r) => r.body) } }))
          .results;
      } catch (error) {
        if (!(error instanceof ApiError) || error.status >= 500 || error.status === 429) throw error;
        await rejectAll(batch, error);
        continue;
      }
      await store(() =>
        db.transaction("rw", db.records, async () => {
          for (const fate of results) {
            await db.records.update(fate.uuid, {
              state: fateOf(fate.status),
              done: Date.now(),
              fate: { code: fate.code, message: fate.message, field: fate.field, server: fate.server },
            });
          }
        })
      );
    }
  }

  async function rejectAll(batch, error) {
    await store(() =>
      db.transaction("rw", db.records, async () => {
        for (const r of batch) {
          await db.records.update(r.uuid, {
            state: "rejected",
            done: Date.now(),
            fate: { code: error.code, message: error.message, field: "", server: null },
          });
        }
      })
    );
  }

  async function sendAttendance(pending) {
    const records = pending.filter((r) => r.channel === "attendance");
    const send = async (batch) => {
      let results;
      try {
        results = await api("afterschool/attendance/batch", { method: "POST", json: { records: batch.map((r) => r.body) } });
      } catch (error) {
        if (!(error instanceof ApiError) || error.status >= 500 || error.status === 429) throw error;
        // All or nothing on the server: one by one, to find the record refused and keep the others.
        if (batch.length > 1) {
          for (const one of batch) await send([one]);
        } else {
          await rejectAll(batch, error);
        }
        return;
      }
      await store(() =>
        db.transaction("rw", db.records, async () => {
          for (const result of results) {
            await db.records.update(result.client_uuid, {
              state: result.result === "unchanged" ? "already_applied" : "applied",
              done: Date.now(),
              fate: { code: result.result, message: "", server: { id: result.id } },
            });
          }
        })
      );
    };
    for (let i = 0; i < records.length; i += ATTENDANCE_BATCH) await send(records.slice(i, i + ATTENDANCE_BATCH));
  }

  async function sendOrders(pending) {
    for (const r of pending.filter((x) => x.channel === "order")) {
      try {
        const out = await api(`rectification-orders/${r.body.order_id}/verify`, {
          method: "POST",
          json: { accepted: r.body.accepted, note: r.body.note },
        });
        await db.records.update(r.uuid, { state: "applied", done: Date.now(), fate: { server: out } });
      } catch (error) {
        if (!(error instanceof ApiError) || error.status >= 500 || error.status === 429) throw error;
        if (error.status === 409 && (await verifiedAlready(r))) continue;
        await rejectAll([r], error);
      }
    }
  }

  // The answer to a verification was lost on the way back and the phone sent it again: the server refuses the second
  // one (the order is no longer awaiting verification). If the order carries this very decision, it arrived once.
  async function verifiedAlready(r) {
    let order;
    try {
      order = await api(`rectification-orders/${r.body.order_id}`);
    } catch (e) {
      return false;
    }
    const outcome = r.body.accepted ? order.status === "closed" : order.status === "open";
    if (!outcome || (order.verification_note || "").trim() !== r.body.note.trim()) return false;
    await db.records.update(r.uuid, { state: "already_applied", done: Date.now(), fate: { server: order } });
    return true;
  }

  async function sendPhotos() {
    const photos = await db.photos.where("state").equals("pending").sortBy("created");
    for (const p of photos) {
      const form = new FormData();
      form.append("sha256", p.sha256);
      form.append("file", p.blob, `${p.uuid}.jpg`);
      try {
        const out = await api(`inspections/${p.inspection_id}/photos/${p.uuid}`, { method: "POST", form });
        await db.photos.update(p.uuid, { state: "stored", done: Date.now(), stored_now: out.stored, message: "" });
      } catch (error) {
        if (error instanceof ApiError && error.code === "photo.hash_mismatch") {
          await db.photos.update(p.uuid, { tries: (p.tries || 0) + 1 }); // broken on the way: sent again next time
          continue;
        }
        if (error instanceof ApiError && error.status < 500 && error.status !== 429) {
          // Refused (too large, not an image, …): shown on the record; the other photos go on.
          await db.photos.update(p.uuid, { state: "rejected", done: Date.now(), message: error.message, code: error.code });
          continue;
        }
        await db.photos.update(p.uuid, { tries: (p.tries || 0) + 1 });
        throw error;
      }
    }
  }

  const afterSync = [];
  let syncing = null;
  let again = false;
  function sync() {
    if (syncing) {
      again = true; // records written while sending: one more round once this one ends
      return syncing;
    }
    syncing = doSync().finally(() => {
      syncing = null;
      changed();
      if (again) {
        again = false;
        sync();
      }
    });
    return syncing;
  }

  // Soon after the last tap (taps in a row go in one batch), when the browser says it is online.
  let soonTimer = null;
  function syncSoon() {
    if (navigator.onLine === false) return;
    clearTimeout(soonTimer);
    soonTimer = setTimeout(() => sync(), 800);
  }

  async function doSync() {
    if (!(await currentAuth())) return { signedIn: false };
    if (navigator.onLine === false) {
      setSyncState(t("waiting_network"));
      return { offline: true };
    }
    setSyncState(t("syncing"));
    try {
      const pending = await db.records.where("state").equals("pending").sortBy("created");
      await sendInspectionRecords(pending);
      await sendAttendance(pending);
      await sendOrders(pending);
      await sendPhotos();
      for (const fn of afterSync) await fn();
      await kvPut("last_sync", Date.now());
      setSyncState(t("synced_at", { time: new Date().toLocaleTimeString() }));
      showError("");
      return { ok: true };
    } catch (error) {
      if (error instanceof Offline) {
        setSyncState(t("waiting_network"));
        return { offline: true };
      }
      if (error instanceof SignInNeeded) {
        setSyncState("");
        window.dispatchEvent(new CustomEvent("sj:signin"));
        return { signedIn: false };
      }
      setSyncState("");
      showError(error.message || String(error));
      return { error };
    }
  }

  // --- The service worker: installed once, updates announced and taken between visits ------------------------------
  let updateWanted = false;
  function registerWorker(isBusy) {
    if (!("serviceWorker" in navigator)) {
      $("banner-no-sw").hidden = false;
      return;
    }
    navigator.serviceWorker.addEventListener("controllerchange", () => {
      if (updateWanted) location.reload();
    });
    navigator.serviceWorker
      .register(config.sw, { scope: config.scope })
      .then((reg) => {
        const offer = () => {
          if (!reg.waiting || !navigator.serviceWorker.controller) return;
          const banner = $("banner-update");
          banner.hidden = false;
          $("update-button").onclick = async () => {
            if (await isBusy()) {
              window.alert(t("update_after_visit"));
              return;
            }
            updateWanted = true;
            reg.waiting.postMessage({ type: "SKIP_WAITING" });
          };
        };
        offer();
        reg.addEventListener("updatefound", () => {
          const worker = reg.installing;
          if (worker) worker.addEventListener("statechange", () => worker.state === "installed" && offer());
        });
        window.addEventListener("online", () => reg.update().catch(() => null));
      })
      .catch(() => {
        $("banner-no-sw").hidden = false;
      });
  }

  // --- Signing in: a screen inside the app, as a native app has ----------------------------------------------------
  async function signInScreen(main, onDone) {
    const before = await kvGet("auth");
    const notice = localStorage.getItem("sj-notice");
    localStorage.removeItem("sj-notice");
    const n = await pendingCount();
    const error = h("p", { class: "form-error", role: "alert", "data-testid": "sign-in-error", hidden: true });
    const login = h("input", { id: "sj-login", name: "login", autocomplete: "username", required: true });
    const password = h("input", {
      id: "sj-password",
      name: "password",
      type: "password",
      autocomplete: "current-password",
      required: true,
    });
    const form = h(
      "form",
      { class: "card sign-in", "data-testid": "sign-in" },
      h("h1", {}, t("sign_in_title")),
      notice ? h("p", { class: "banner banner-error", "data-testid": "wiped-notice" }, notice) : null,
      before && before.revoked
        ? h("p", { class: "banner banner-warn", "data-testid": "revoked-notice" }, t("revoked", { reason: before.reason || "" }))
        : null,
      n ? h("p", { class: "banner banner-info", "data-testid": "kept-notice" }, t("kept_records", { n })) : null,
      h("label", { for: "sj-login" }, t("login_label")),
      login,
      h("label", { for: "sj-password" }, t("password_label")),
      password,
      error,
      h("button", { type: "submit", class: "primary", "data-testid": "sign-in-button" }, t("sign_in_button"))
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.hidden = true;
      try {
        await signIn(login.value.trim(), password.value);
        onDone();
      } catch (e) {
        error.textContent = e instanceof Offline ? t("sign_in_offline") : e.message;
        error.hidden = false;
      }
    });
    fill(main, form);
    login.focus();
  }

  // --- The outbox page: every record's fate, conflicts with both versions ------------------------------------------
  const STATE_LABELS = () => ({
    pending: t("state_pending"),
    applied: t("state_applied"),
    already_applied: t("state_already_applied"),
    conflict: t("state_conflict"),
    rejected: t("state_rejected"),
    stored: t("state_applied"),
  });

  function show(value) {
    if (value === null || value === undefined || value === "") return "—";
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  function conflictBox(record, describe) {
    const server = (record.fate && record.fate.server) || {};
    const mine = describe ? describe(record, "mine") : show(record.body.data || record.body);
    const theirs = describe ? describe(record, "server") : show(server);
    return h(
      "div",
      { class: "conflict", "data-testid": "conflict" },
      h("p", {}, h("strong", {}, t("conflict_title"))),
      h("p", {}, t("conflict_mine"), " ", h("span", { "data-testid": "conflict-mine" }, mine)),
      h("p", {}, t("conflict_server"), " ", h("span", { "data-testid": "conflict-server" }, theirs)),
      h("p", { class: "muted" }, t("conflict_next"))
    );
  }

  async function outboxPage(main, opts) {
    const describe = (opts && opts.describe) || ((r) => r.label || r.channel);
    const records = (await db.records.orderBy("created").reverse().limit(300).toArray());
    const photos = await db.photos.orderBy("created").reverse().limit(100).toArray();
    const labels = STATE_LABELS();
    const n = await pendingCount();
    const syncButton = h("button", { type: "button", class: "primary", "data-testid": "outbox-sync" }, t("sync"));
    syncButton.addEventListener("click", () => sync());
    const out = h("button", { type: "button", class: "danger", "data-testid": "sign-out" }, t("sign_out"));
    out.addEventListener("click", async () => {
      if (await signOut()) location.reload();
    });
    const auth = await kvGet("auth");
    fill(
      main,
      h("h1", {}, t("outbox_title")),
      h("p", { "data-testid": "outbox-count" }, n ? t("n_pending", { n }) : t("none_pending")),
      h("div", { class: "actions" }, syncButton),
      h("p", { class: "muted", "data-testid": "storage-line" }, await storageLine()),
      h(
        "ul",
        { class: "records", "data-testid": "records" },
        records.map((r) =>
          h(
            "li",
            { class: `record state-${r.state}`, "data-testid": "record", "data-state": r.state, "data-uuid": r.uuid },
            h("span", { class: "record-what" }, describe(r)),
            h("span", { class: "tag" }, labels[r.state] || r.state),
            r.state === "rejected" ? h("span", { class: "reason", "data-testid": "reason" }, (r.fate && r.fate.message) || "") : null,
            r.state === "conflict" ? conflictBox(r, opts && opts.describeValue) : null
          )
        )
      ),
      photos.length ? h("h2", {}, t("photos_title")) : null,
      h(
        "ul",
        { class: "records", "data-testid": "photos" },
        photos.map((p) =>
          h(
            "li",
            { class: `record state-${p.state}`, "data-testid": "photo-record", "data-state": p.state },
            h("span", { class: "record-what" }, t("photo_line", { kb: Math.round(p.size / 1024) })),
            h("span", { class: "tag" }, labels[p.state] || p.state),
            p.state === "rejected" ? h("span", { class: "reason" }, p.message || "") : null
          )
        )
      ),
      h("p", { class: "muted" }, auth && auth.user ? t("signed_in_as", { name: auth.user.name }) : ""),
      h("div", { class: "actions" }, out)
    );
  }

  // --- Start: banners, triggers, the first sync ---------------------------------------------------------------------
  function boot(app) {
    const offline = $("banner-offline");
    const setOnline = () => {
      offline.hidden = navigator.onLine !== false;
    };
    setOnline();
    showClock(); // as last measured: the phone may be offline now
    window.addEventListener("offline", setOnline);
    window.addEventListener("online", () => {
      setOnline();
      sync();
    });
    const button = $("sync-button");
    button.addEventListener("click", () => sync());
    registerWorker(app.busy || (async () => false));
    if (app.afterSync) afterSync.push(app.afterSync);
    window.addEventListener("sj:signin", () => start());
    db.open()
      .catch((error) => showError(t("storage_unavailable") + " " + (error && error.message)))
      .then(start);

    async function start() {
      const main = $("main");
      const auth = await currentAuth();
      const tabs = $("tabs");
      if (!auth) {
        button.hidden = true;
        tabs.hidden = true;
        await refreshPending();
        await signInScreen(main, () => start());
        return;
      }
      button.hidden = false;
      tabs.hidden = false;
      await refreshPending();
      await app.start(main);
      sync(); // when the app opens
    }
  }

  window.SJ = {
    config,
    t,
    h,
    fill,
    db,
    kvGet,
    kvPut,
    store,
    uuid,
    isoNow,
    today,
    api,
    sync,
    syncSoon,
    addRecord,
    addPhoto,
    shrink,
    onChange,
    changed,
    pendingCount,
    outboxPage,
    signOut,
    showError,
    boot,
    ApiError,
    Offline,
    SignInNeeded,
    StorageFull,
    storageFullNotice,
    storageFull: () => fullShown,
    skew: () => skewMs,
  };
})();
