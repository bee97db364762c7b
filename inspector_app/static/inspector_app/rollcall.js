/* The teachers' roll call (inspector_app), on the same outbox as the inspectors' app: today's sessions with their
   rosters, one tap per child, kept on the phone and sent as attendance batches (POST /afterschool/attendance/batch,
   idempotent by client UUID). Absences reach parents through the server, as from the web page. */
(function () {
  "use strict";
  const { t, h, db, api } = window.SJ;
  const MARKS = ["present", "absent", "leave"];

  let day = SJ.today();
  let sessions = [];
  let records = [];
  let mainEl = null;

  // The day is the server's (a phone's clock may be off): the sessions come with their date.
  async function loadLocal() {
    const row = await db.sessions.get("today");
    sessions = row ? row.value : [];
    day = row ? row.day : SJ.today();
    records = (await db.records.where("channel").equals("attendance").toArray()).sort((a, b) => a.created - b.created);
  }

  async function loadRemote() {
    const data = await api("afterschool/my-sessions");
    const date = data.length ? data[0].date : SJ.today();
    await SJ.store(() => db.sessions.put({ key: "today", day: date, value: data, fetched: Date.now() }));
  }

  function markOf(session, entry) {
    const mine = records.filter(
      (r) => r.body.session_id === session.session.id && r.body.student_id === entry.student.id && r.body.date === day && r.state !== "rejected"
    );
    if (mine.length) return { mark: mine[mine.length - 1].body.mark, record: mine[mine.length - 1] };
    return { mark: entry.attendance ? entry.attendance.mark : null, record: null };
  }

  async function mark(session, entry, value) {
    try {
      await SJ.addRecord(
        "attendance",
        { client_uuid: SJ.uuid(), session_id: session.session.id, student_id: entry.student.id, date: day, mark: value },
        { label: `${session.session.programme_name} · ${entry.student.name} · ${t("mark_" + value)}` }
      );
    } catch (error) {
      if (!(error instanceof SJ.StorageFull)) SJ.showError(error.message);
      return;
    }
    await loadLocal();
    route();
    SJ.syncSoon();
  }

  async function markAllPresent(session) {
    try {
      for (const entry of session.roster) {
        if (!markOf(session, entry).mark) {
          await SJ.addRecord(
            "attendance",
            { client_uuid: SJ.uuid(), session_id: session.session.id, student_id: entry.student.id, date: day, mark: "present" },
            { label: `${session.session.programme_name} · ${entry.student.name} · ${t("mark_present")}` }
          );
        }
      }
    } catch (error) {
      // Storage full part way: the children marked so far are kept and shown; the rest stay unmarked for another tap.
      if (!(error instanceof SJ.StorageFull)) SJ.showError(error.message);
    }
    await loadLocal();
    route();
    SJ.syncSoon();
  }

  function sessionCard(session) {
    const s = session.session;
    const marked = session.roster.filter((e) => markOf(session, e).mark).length;
    return h(
      "section",
      { class: "card", "data-testid": "session", "data-session": s.id },
      h("h2", {}, s.programme_name, " ", h("span", { class: "count", "data-testid": "marked-count" }, `${marked}/${session.roster.length}`)),
      h("p", { class: "muted" }, [`${s.starts_at}–${s.ends_at}`, s.room].filter(Boolean).join(" · ")),
      h("button", { type: "button", class: "big", "data-testid": "all-present", onclick: () => markAllPresent(session) }, t("all_present")),
      h(
        "ul",
        { class: "roster" },
        session.roster.map((entry) => {
          const m = markOf(session, entry);
          return h(
            "li",
            { class: "child", "data-testid": "child", "data-student": entry.student.id, "data-mark": m.mark || "" },
            h("span", { class: "child-name" }, entry.student.name, h("span", { class: "muted" }, " " + entry.student.class_label)),
            h(
              "span",
              { class: "answers", role: "group", "aria-label": entry.student.name },
              MARKS.map((value) =>
                h(
                  "button",
                  {
                    type: "button",
                    class: `answer mark-${value}`,
                    "aria-pressed": m.mark === value ? "true" : "false",
                    "data-testid": `mark-${value}`,
                    onclick: () => mark(session, entry, value),
                  },
                  t("mark_" + value)
                )
              )
            ),
            m.record && m.record.state === "pending" ? h("span", { class: "tag" }, t("state_pending")) : null
          );
        })
      )
    );
  }

  function todayPage(main) {
    SJ.fill(
      main,
      h("h1", {}, t("rollcall_title", { date: day })),
      sessions.length ? sessions.map(sessionCard) : h("p", { class: "muted", "data-testid": "no-sessions" }, t("no_sessions"))
    );
  }

  function route() {
    if (!mainEl) return;
    const hash = location.hash || "#/";
    const y = window.scrollY;
    const same = mainEl.dataset.route === hash;
    mainEl.dataset.route = hash;
    document.querySelectorAll("[data-tab]").forEach((a) => {
      const on = (a.dataset.tab === "today" && hash === "#/") || hash === `#/${a.dataset.tab}`;
      if (on) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    });
    if (hash === "#/outbox") SJ.outboxPage(main(), {});
    else todayPage(mainEl);
    if (same) window.scrollTo(0, y);
  }

  function main() {
    return mainEl;
  }

  async function start(el) {
    mainEl = el;
    await loadLocal();
    route();
  }

  async function afterSync() {
    try {
      await loadRemote();
    } catch (error) {
      if (!(error instanceof SJ.Offline)) throw error;
    }
    await loadLocal();
    route();
  }

  window.addEventListener("hashchange", route);
  SJ.onChange(() => {
    if (location.hash === "#/outbox") route();
  });
  SJ.boot({ start, afterSync });
})();
