// Small helpers shared by every page: tokens, API calls, Chinese error messages.
const Youfu = {
  // The city's time zone, rendered into <html data-tz> by the gateway from shared/city.py (the one copy).
  TZ: document.documentElement.dataset.tz,
  token() { return sessionStorage.getItem("yf.access"); },
  me() { try { return JSON.parse(sessionStorage.getItem("yf.me") || "null"); } catch { return null; } },
  // body: an object sent as JSON, or a FormData sent as multipart (the browser writes its boundary)
  async api(method, path, body, opts = {}) {
    const headers = { "Accept": "application/json" };
    const form = body instanceof FormData;
    if (body !== undefined && !form) headers["Content-Type"] = "application/json";
    if (this.token()) headers["Authorization"] = "Bearer " + this.token();
    if (opts.idempotencyKey) headers["Idempotency-Key"] = opts.idempotencyKey;
    const r = await this.fetch(path, { method, headers, body: body === undefined ? undefined : form ? body : JSON.stringify(body) });
    if (r.status === 401 && !opts.retried && sessionStorage.getItem("yf.refresh")) {
      if (await this.refresh()) return this.api(method, path, body, { ...opts, retried: true });
    }
    const text = await r.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = null; }
    if (!r.ok) throw this.problem(r.status, data);
    return data;
  },
  async fetch(path, init) {
    try { return await fetch(path, init); }
    catch { const err = new Error("网络连接中断，请检查网络后再试"); err.status = 0; throw err; }
  },
  problem(status, data) {
    const fallback = status === 404 ? "没有找到要查看的内容，请刷新页面后再试"
      : status >= 500 ? "服务暂时出了问题，请稍后再试；一直不成功请拨打服务热线 88012349" : "操作没有成功，请稍后再试";
    const err = new Error((data && data.detail) || fallback);
    err.status = status; err.problem = data; return err;
  },
  // The message plus each field's reason (422 lists them), for people to act on.
  explain(err) {
    const reasons = ((err.problem && err.problem.errors) || []).map(e => e.reason).filter(Boolean);
    const unique = [...new Set(reasons)].filter(r => r !== err.message);
    return unique.length ? `${err.message}：${unique.slice(0, 6).join("；")}${unique.length > 6 ? "……" : ""}` : err.message;
  },
  // A file from the API (CSV/XLSX export), saved under the name the server gives.
  async download(path, fallbackName, init = {}, retried = false) {
    const headers = { ...(init.headers || {}) };
    if (this.token()) headers["Authorization"] = "Bearer " + this.token();
    const r = await this.fetch(path, { ...init, headers });
    if (r.status === 401 && !retried && sessionStorage.getItem("yf.refresh") && await this.refresh()) {
      return this.download(path, fallbackName, init, true);
    }
    if (!r.ok) { let data = null; try { data = await r.json(); } catch {} throw this.problem(r.status, data); }
    const cd = r.headers.get("content-disposition") || "";
    const star = /filename\*=UTF-8''([^;]+)/i.exec(cd), plain = /filename="([^"]+)"/i.exec(cd);
    const name = star ? decodeURIComponent(star[1]) : plain ? plain[1] : fallbackName;
    const url = URL.createObjectURL(await r.blob());
    const a = Object.assign(document.createElement("a"), { href: url, download: name });
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    return name;
  },
  // An image the API serves only with the caller's token (a complaint's photo): an object URL for
  // <img src>; the caller revokes it when the picture goes away.
  async imageUrl(path, retried = false) {
    const headers = this.token() ? { "Authorization": "Bearer " + this.token() } : {};
    const r = await this.fetch(path, { headers });
    if (r.status === 401 && !retried && sessionStorage.getItem("yf.refresh") && await this.refresh()) return this.imageUrl(path, true);
    if (!r.ok) { let data = null; try { data = await r.json(); } catch {} throw this.problem(r.status, data); }
    return URL.createObjectURL(await r.blob());
  },
  // Client-side CSV (UTF-8 with BOM so Excel/WPS read the Chinese); text that looks like a formula is quoted.
  saveCsv(name, headers, rows) {
    const cell = v => {
      let s = v === null || v === undefined ? "" : String(v);
      if (/^[=+\-@]/.test(s) && isNaN(Number(s))) s = "'" + s;
      return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
    };
    const text = "\ufeff" + [headers, ...rows].map(r => r.map(cell).join(",")).join("\r\n") + "\r\n";
    const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
    const a = Object.assign(document.createElement("a"), { href: url, download: name + ".csv" });
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  },
  saveXlsx(name, sheet, headers, rows, moneyColumns = []) {
    return this.download("/export/xlsx", name + ".xlsx", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ filename: name, sheet, headers, rows, money_columns: moneyColumns }) });
  },
  /* A table with its export buttons. columns: [{h, v(row) → export value, html(row) → cell markup,
     money: v gives fen (shown and exported in yuan), long: wraps, noExport}]. exportPath(fmt) → a service's own
     export URL, or null to export what the page shows. */
  table(box, { caption, columns, rows, name, sheet, empty = "暂无记录", exportPath = null }) {
    box = typeof box === "string" ? document.querySelector(box) : box;
    const value = (c, row) => { const v = c.v(row); return c.money ? (v === null || v === undefined ? "" : this.yuan(v)) : v; };
    const head = columns.map(c => `<th scope="col">${this.esc(c.h)}</th>`).join("");
    const body = rows.length ? rows.map(row => "<tr>" + columns.map(c =>
      `<td${c.money ? ' class="num"' : ""}>${c.html ? c.html(row) : c.long ? `<div class="long">${this.esc(value(c, row))}</div>` : this.esc(value(c, row))}</td>`).join("") + "</tr>").join("")
      : `<tr><td colspan="${columns.length}" class="muted">${this.esc(empty)}</td></tr>`;
    // The wrapper scrolls sideways when the table is wider than the screen: focusable and named so a
    // keyboard can scroll it too (WCAG 2.1.1; axe-core's scrollable-region-focusable).
    box.innerHTML = `<div class="table-wrap" role="region" tabindex="0" aria-label="${this.esc(caption)}"><table><caption>${this.esc(caption)}</caption><thead><tr>${head}</tr></thead>`
      + `<tbody>${body}</tbody></table></div><p class="exports"><span class="muted">导出：</span>`
      + `<button type="button" data-fmt="csv" aria-label="${this.esc(caption)} 导出 CSV">CSV</button> `
      + `<button type="button" data-fmt="xlsx" aria-label="${this.esc(caption)} 导出 Excel">Excel</button>`
      + `<span class="export-msg" role="status"></span></p>`;
    const out = columns.filter(c => !c.noExport);
    box.querySelectorAll(".exports button").forEach(b => b.addEventListener("click", async () => {
      const fmt = b.dataset.fmt, msg = box.querySelector(".export-msg");
      msg.textContent = "正在导出……";
      try {
        const path = exportPath && exportPath(fmt);
        if (path) await this.download(path, `${name}.${fmt}`);
        else {
          const data = rows.map(row => out.map(c => value(c, row)));
          if (fmt === "csv") this.saveCsv(name, out.map(c => c.h), data);
          else await this.saveXlsx(name, sheet || caption, out.map(c => c.h), data,
            out.map((c, i) => c.money ? i : -1).filter(i => i >= 0));
        }
        msg.textContent = "已导出，请在浏览器的下载列表里查看";
      } catch (err) { msg.textContent = "导出没有成功：" + this.explain(err); }
    }));
    return box;
  },
  // This month in Beijing time, "YYYY-MM".
  month(d = new Date()) {
    const p = new Intl.DateTimeFormat("en-CA", { timeZone: Youfu.TZ, year: "numeric", month: "2-digit" })
      .formatToParts(d);
    return `${p.find(x => x.type === "year").value}-${p.find(x => x.type === "month").value}`;
  },
  localDate(iso) { return iso ? new Date(iso).toLocaleDateString("zh-CN", { timeZone: Youfu.TZ }) : ""; },
  // Signed in with one of `roles`? Otherwise send to sign-in, or say whose page this is and where to go.
  requireRole(roles, pageName) {
    if (!this.token()) { this.requireLogin(); return null; }
    const me = this.me();
    if (!me || !roles.includes(me.role)) {
      const home = me && HOME_BY_ROLE[me.role];
      const box = document.querySelector("#message");
      box.className = "notice error"; box.setAttribute("role", "alert"); box.hidden = false;
      box.innerHTML = `${this.esc(pageName)}只对相应岗位的工作人员开放，您当前的账号不能使用。`
        + (home ? `请回到<a href="${home}">您的首页</a>。` : `请<a href="/login">换一个账号登录</a>。`);
      return null;
    }
    return me;
  },
  async refresh() {
    const r = await fetch("/api/auth/refresh", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: sessionStorage.getItem("yf.refresh") }) });
    if (!r.ok) { this.clear(); return false; }
    this.store(await r.json()); return true;
  },
  store(tokens) {
    sessionStorage.setItem("yf.access", tokens.access_token);
    sessionStorage.setItem("yf.refresh", tokens.refresh_token);
  },
  clear() { ["yf.access", "yf.refresh", "yf.me"].forEach(k => sessionStorage.removeItem(k)); },
  async logout() {
    try { await this.api("POST", "/api/auth/logout", { refresh_token: sessionStorage.getItem("yf.refresh") }); } catch {}
    this.clear(); location.href = "/login";
  },
  requireLogin() { if (!this.token()) { location.href = "/login?next=" + encodeURIComponent(location.pathname); } },
  show(el, message, kind = "error") {
    const box = typeof el === "string" ? document.querySelector(el) : el;
    box.className = "notice " + kind; box.textContent = message; box.hidden = false; box.setAttribute("role", "alert");
  },
  // a page section that loads on its own: its failure is said in #<name>-msg and the rest of the page goes on
  failPanel(sel, err) {
    const why = err.status === 404 || err.status === 405 ? "这项功能还没有开通" : Youfu.explain(err);
    Youfu.show(sel, `暂时无法加载：${why}。请稍后刷新页面再看；其他栏目不受影响。`);
  },
  async panel(name, load) {
    document.querySelector(`#${name}-msg`).hidden = true;
    try { await load(); } catch (err) { Youfu.failPanel(`#${name}-msg`, err); }
  },
  yuan(fen) { return (fen / 100).toFixed(2); },
  esc(s) { return String(s ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]); },
  localTime(iso) { return iso ? new Date(iso).toLocaleString("zh-CN", { timeZone: Youfu.TZ, hour12: false }) : ""; },
  uuid() { return crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random(); },

  // ---- care plans (assessment service), shared by the assessor, elder and bureau pages ----
  PLAN_STATES: { draft: "草稿", awaiting_consent: "待老人确认", active: "执行中", to_review: "待复核",
    replaced: "已被新计划替代", ended: "已终止" },
  PLAN_VOUCHERS: { community: "社区照护券", mutual_aid: "邻里互助券", self_pay: "自费" },
  WEEKDAYS: ["周一", "周二", "周三", "周四", "周五", "周六", "周日"],
  // {"type": "weekly", "weekdays": [1, 4], "time": "09:00"} → "每周一、四 09:00"; per_week / per_month → "每周 2 次 15:00"
  frequencyText(f) {
    if (!f) return "";
    if (f.type === "weekly") {
      const days = [...(f.weekdays || [])].sort((a, b) => a - b);
      const names = days.length === 7 ? "每天" : "每" + days.map((d, k) => k ? this.WEEKDAYS[d - 1].slice(1) : this.WEEKDAYS[d - 1]).join("、");
      return `${names} ${f.time || ""}`.trim();
    }
    return `每${f.type === "per_month" ? "月" : "周"} ${f.count} 次 ${f.time || ""}`.trim();
  },
  // The plan's visits, one line each: "助洁 · 每周一、四 09:00 · 60 分钟 · 城中居家养老服务中心"
  planItemText(item, serviceName = code => code, providerName = () => "") {
    return [item.service_name || serviceName(item.service_code), this.frequencyText(item.frequency),
      item.duration_min ? `每次 ${item.duration_min} 分钟` : "", item.provider_name || providerName(item.provider_id),
      this.PLAN_VOUCHERS[item.voucher_kind] || ""].filter(Boolean).join(" · ");
  },
  // The budget's sentence: the service's own words, or built from its figures
  budgetText(b) {
    if (!b) return "";
    return b.summary_zh || `每月计划 ${b.occurrences} 次，约 ${Math.round(b.total_fen / 100)} 元：代金券 ${Math.round(b.voucher_fen / 100)} 元，自付 ${Math.round(b.self_fen / 100)} 元`;
  },
  // A list answer as an array: some routes answer [..], others {items: [..]}
  rows(answer) { return Array.isArray(answer) ? answer : (answer && (answer.items || answer.rows || answer.occurrences)) || []; },
};
const HOME_BY_ROLE = { elder: "/elder", family: "/elder", caregiver: "/provider", provider_admin: "/provider",
  assessor: "/assessor", officer: "/bureau", city_officer: "/bureau", admin: "/bureau", operator: "/desk" };
