// Live notices on every signed-in page (issue 24): the inbox (last 50) in the header, a polite live
// region that reads out each new notice, and the stream GET /api/notices/stream (Server-Sent Events).
// The stream is the browser's EventSource, opened with a one-minute ticket since EventSource cannot
// send the page's bearer token; reconnects take a new ticket and resume from the last event id.
// Other page scripts react live with window.youfuNotices.on(kind, fn) (kind "*" for every notice).
(function () {
  const handlers = new Map();
  const seen = new Set();
  let items = [], unread = 0, lastId = null, stopped = false, source = null;
  const retryMs = 3000;
  let bar, summary, list;

  const api = {
    on(kind, fn) {
      if (!handlers.has(kind)) {
        handlers.set(kind, []);
        if (source && kind !== "*") listen(source, kind);  // a kind the ticket did not list
      }
      handlers.get(kind).push(fn);
      return api;
    },
    get items() { return items.slice(); },
    stop() { stopped = true; if (source) source.close(); },
  };
  window.youfuNotices = api;

  const when = iso => new Date(iso).toLocaleString("zh-CN", { timeZone: Youfu.TZ, month: "numeric", day: "numeric",
    hour: "2-digit", minute: "2-digit" });
  const esc = s => String(s ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

  function build() {
    // the live region is in the page before anything is said into it, so screen readers announce it
    bar = Object.assign(document.createElement("div"), { id: "notice-bar", className: "notice-bar" });
    bar.setAttribute("role", "status");
    bar.setAttribute("aria-live", "polite");
    const main = document.querySelector("main");
    main.insertBefore(bar, main.firstChild);
    const box = Object.assign(document.createElement("details"), { id: "notice-inbox", className: "notice-inbox" });
    box.innerHTML = '<summary>通知</summary><div class="notice-panel"><ol class="notice-list"></ol>'
      + '<button type="button" class="notice-read">全部标为已读</button></div>';
    document.querySelector("header nav").prepend(box);
    summary = box.querySelector("summary");
    list = box.querySelector("ol");
    box.querySelector(".notice-read").addEventListener("click", markAllRead);
  }

  function render() {
    summary.textContent = unread ? `通知（${unread} 条未读）` : "通知";
    list.innerHTML = items.length ? items.map(n => `<li class="${n.read ? "" : "unread"}"><strong>${esc(n.title)}</strong>`
      + (n.body ? ` <span>${esc(n.body)}</span>` : "") + ` <time datetime="${esc(n.at)}" class="muted">${esc(when(n.at))}</time>`
      + (n.link && n.link !== location.pathname ? ` <a href="${esc(n.link)}">查看</a>` : "") + "</li>").join("")
      : '<li class="muted">暂无通知</li>';
  }

  function arrive(notice) {
    if (seen.has(notice.id)) return;
    seen.add(notice.id);
    items = [notice, ...items].slice(0, 50);
    if (!notice.read) unread += 1;
    render();
    bar.textContent = notice.body ? `${notice.title}：${notice.body}` : notice.title;
    bar.classList.add("shown");
    for (const fn of [...(handlers.get(notice.kind) || []), ...(handlers.get("*") || [])]) {
      try { fn(notice); } catch (err) { console.error(err); }
    }
  }

  async function markAllRead() {
    try { await Youfu.api("POST", "/api/notices/read", {}); unread = 0; items = items.map(n => ({ ...n, read: true })); render(); }
    catch (err) { bar.textContent = "没有标记成功：" + Youfu.explain(err); }
  }

  async function loadInbox() {
    const inbox = await Youfu.api("GET", "/api/notices?limit=50");
    items = inbox.items; unread = inbox.unread;
    items.forEach(n => seen.add(n.id));
    // the stream starts after the newest one in the inbox: nothing is missed between the two calls
    const top = items.reduce((m, n) => Math.max(m, n.seq), 0);
    if (top) lastId = String(top);
    render();
  }

  function listen(source, kind) {
    source.addEventListener(kind, ev => {
      if (ev.lastEventId) lastId = ev.lastEventId;
      try { arrive(JSON.parse(ev.data)); } catch (err) { console.error(err); }
    });
  }

  async function stream() {
    // EventSource sends no Authorization header: a one-minute ticket (POST /api/notices/ticket, signed
    // with the page's bearer token) opens the stream. On any error the page takes a new ticket and
    // reconnects itself, resuming after the last event id it saw.
    if (stopped || !Youfu.token()) return;
    let ticket;
    try { ticket = await Youfu.api("POST", "/api/notices/ticket"); }
    catch (err) {
      if (err.status === 401 || err.status === 403) return;  // signed out: the page's own calls say so
      setTimeout(stream, retryMs); return;
    }
    const url = "/api/notices/stream?ticket=" + encodeURIComponent(ticket.ticket)
      + (lastId ? "&last_event_id=" + encodeURIComponent(lastId) : "");
    source = new EventSource(url);
    const kinds = new Set([...ticket.kinds, ...handlers.keys()]);
    kinds.delete("*");
    kinds.forEach(kind => listen(source, kind));
    source.onopen = () => { document.body.dataset.notices = "live"; };  // the stream is open (tests wait for it)
    source.onerror = () => {
      source.close(); source = null;
      document.body.dataset.notices = "reconnecting";
      if (!stopped) setTimeout(stream, retryMs);
    };
  }

  async function start() {
    if (!Youfu.token() || !document.querySelector("main") || !document.querySelector("header nav")) return;
    build();
    try { await loadInbox(); } catch (err) { render(); }
    stream();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
