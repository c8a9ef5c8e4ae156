// Small helpers shared by every page: tokens, API calls, Chinese error messages.
const Youfu = {
  token() { return sessionStorage.getItem("yf.access"); },
  me() { try { return JSON.parse(sessionStorage.getItem("yf.me") || "null"); } catch { return null; } },
  async api(method, path, body, opts = {}) {
    const headers = { "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (this.token()) headers["Authorization"] = "Bearer " + this.token();
    if (opts.idempotencyKey) headers["Idempotency-Key"] = opts.idempotencyKey;
    let r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (r.status === 401 && !opts.retried && sessionStorage.getItem("yf.refresh")) {
      if (await this.refresh()) return this.api(method, path, body, { ...opts, retried: true });
    }
    const text = await r.text();
    const data = text ? JSON.parse(text) : null;
    if (!r.ok) {
      const err = new Error((data && data.detail) || "操作没有成功，请稍后再试");
      err.status = r.status; err.problem = data; throw err;
    }
    return data;
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
  yuan(fen) { return (fen / 100).toFixed(2); },
  esc(s) { return String(s ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]); },
  localTime(iso) { return iso ? new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }) : ""; },
  uuid() { return crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random(); },
};
const HOME_BY_ROLE = { elder: "/elder", family: "/elder", caregiver: "/provider", provider_admin: "/provider",
  assessor: "/assessor", officer: "/bureau", city_officer: "/bureau", admin: "/bureau" };
