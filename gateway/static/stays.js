// The elder and family page's part on institutional stays: find an institution with a free bed of
// the care level needed near the elder's home, apply, then follow the application, the stay
// (in, on leave, out) and each month's bill (days present, paid leave days, the 机构托养券's part
// and the elder's own). Apart from elder.js so the two stay independent; the API is issue 22's.
(() => {
  const O = "/api/orders", P = "/api/providers", V = "/api/vouchers", A = "/api/assessment";
  const $ = s => document.querySelector(s);
  const esc = s => Youfu.esc(s);
  const yuan = fen => Youfu.yuan(fen || 0);
  const q = encodeURIComponent;
  const LEVELS = { self_care: "自理", nursing: "护理型", dementia: "失智照护" };
  const APPLICATION_STATE = { submitted: "等机构答复", accepted: "机构已接收，床位已预留，等待入住", declined: "机构婉拒了",
    admitted: "已入住" };
  const STAY_STATE = { admitted: "在住", on_leave: "请假中", back: "在住", transferred: "在住（已换床）", discharged: "已离院",
    ended_by_death: "已故" };
  const CLAIM_STATE = { drafted: "机构核对中", confirmed: "民政审核中", settled: "已结算" };
  const LEAVE_KIND = { home: "回家", hospital: "住院" };
  const HELP = "需要帮助请拨打服务热线 88012349。";

  const me = Youfu.me();
  if (!me || !["elder", "family"].includes(me.role) || !Youfu.token()) return;
  const pick = (o, ...keys) => { for (const k of keys) if (o && o[k] !== undefined && o[k] !== null) return o[k]; return undefined; };
  const idOf = (o, key) => pick(o, key, "id");
  const list = data => Array.isArray(data) ? data : (data && (data.items || data.places)) || [];
  const dayFmt = new Intl.DateTimeFormat("en-CA", { timeZone: Youfu.TZ });
  const dateIn = days => dayFmt.format(new Date(Date.now() + days * 864e5));
  const dateText = ds => { if (!ds) return ""; const [y, m, d] = String(ds).slice(0, 10).split("-").map(Number); return `${y}年${m}月${d}日`; };
  const monthText = ms => { const [y, m] = String(ms).split("-").map(Number); return `${y}年${m}月`; };
  const say = (sel, text, kind = "error") => { Youfu.show(sel, text, kind); if (kind === "ok") $(sel).setAttribute("role", "status"); };
  const explain = err => err.status === 0 ? "网络连接中断了，请检查手机网络后再试。"
    : err.status >= 500 ? "服务暂时出了问题，请过几分钟再试。" + HELP
    : Youfu.explain(err).replace(/[。.]?$/, "。");

  let elder = null, chosen = null, providers = new Map();

  function elderId() {
    const who = Youfu.me() || me;
    const ids = who.elder_ids && who.elder_ids.length ? who.elder_ids : (who.elder_id ? [who.elder_id] : []);
    const saved = sessionStorage.getItem("yf.elder");
    return ids.includes(saved) ? saved : ids[0];
  }
  async function providerName(id) {
    if (!id) return "";
    if (!providers.has(id)) providers.set(id, Youfu.api("GET", `${P}/providers/${id}`).then(p => p.name).catch(() => "养老机构"));
    return providers.get(id);
  }

  // ---- the stay, the applications and the bills ----
  async function loadStay() {
    if (!elder) return;
    let stays = [], apps = [], claims = [];
    try {
      [stays, apps, claims] = await Promise.all([
        Youfu.api("GET", `${O}/stays?elder_id=${q(elder.id)}`).then(list),
        Youfu.api("GET", `${O}/stay-applications?elder_id=${q(elder.id)}`).then(list).catch(() => []),
        Youfu.api("GET", `${V}/stay-claims`).then(list).catch(() => [])]);
    } catch (err) { say("#stay-msg", "入住情况暂时读不出来：" + explain(err)); return; }
    $("#stay-msg").hidden = true;
    claims = claims.filter(c => c.elder_id === elder.id);
    const open = stays.find(s => !s.ended_on);
    const box = $("#stay-now");
    if (open) {
      const name = pick(open, "provider_name") || await providerName(open.provider_id);
      const leave = open.status === "on_leave" && open.leave;
      box.innerHTML = `<article class="card stay-card" data-stay="${esc(idOf(open, "stay_id"))}"><h3>${esc(elder.name)} 现在住在 ${esc(name)}</h3>`
        + `<dl class="facts"><dt>状态</dt><dd class="stay-state">${esc(STAY_STATE[open.status] || open.status_name || open.status)}`
        + (leave ? `（${esc(LEAVE_KIND[leave.kind] || "")}，${esc(dateText(leave.from))} 至 ${esc(dateText(leave.to))}）` : "") + `</dd>`
        + `<dt>入住日期</dt><dd>${esc(dateText(open.admitted_on))}</dd>`
        + `<dt>床位</dt><dd>${esc(LEVELS[open.care_level] || open.care_level_name || open.care_level)}床位</dd>`
        + (open.daily_rate_fen != null ? `<dt>每日床位费</dt><dd>${yuan(open.daily_rate_fen)} 元</dd>` : "")
        + (open.kind === "respite" && open.planned_end ? `<dt>短期托养到</dt><dd>${esc(dateText(open.planned_end))}</dd>` : "")
        + `</dl><p class="muted">住在机构期间，社区照护券不能用来预约上门服务（请假回家的日子除外）。</p></article>`;
    } else {
      const last = stays.filter(s => s.ended_on).sort((a, b) => String(b.ended_on).localeCompare(String(a.ended_on)))[0];
      box.innerHTML = last ? `<p>${esc(elder.name)} 已于 ${esc(dateText(last.ended_on))} 离开 ${esc(pick(last, "provider_name") || await providerName(last.provider_id))}`
        + `${last.end_reason ? `（${esc(last.end_reason)}）` : ""}。</p>` : `<p>${esc(elder.name)} 现在没有入住养老机构。</p>`;
    }
    $("#place-search").hidden = Boolean(open);
    const pending = apps.filter(a => a.status !== "admitted");
    $("#stay-applications").innerHTML = pending.length ? `<h3>入住申请</h3><ul class="plain">` + (await Promise.all(pending.map(async a =>
      `<li>${esc(pick(a, "provider_name") || await providerName(a.provider_id))}　${esc(LEVELS[a.care_level] || "")}　`
      + `希望 ${esc(dateText(a.planned_start))} 入住：<strong>${esc(APPLICATION_STATE[a.status] || a.status_name || a.status)}</strong>`
      + (a.status === "declined" && a.decline_reason ? `（原因：${esc(a.decline_reason)}）` : "") + `</li>`))).join("") + `</ul>` : "";
    if (claims.length) {
      Youfu.table("#stay-bills", { caption: `${elder.name} 的床位费账单`, name: "床位费账单", sheet: "床位费账单",
        rows: claims.sort((a, b) => String(b.month).localeCompare(String(a.month))),
        columns: [
          { h: "月份", v: c => monthText(c.month) },
          { h: "在院天数", v: c => c.present_days },
          { h: "计费请假天数", v: c => c.paid_leave_days },
          { h: "床位费合计（元）", v: c => c.amount_fen, money: true },
          { h: "托养券支付（元）", v: c => c.voucher_fen, money: true },
          { h: "自付（元）", v: c => c.elder_fen, money: true },
          { h: "状态", v: c => CLAIM_STATE[c.state] || c.state_name || c.state },
        ] });
    } else $("#stay-bills").innerHTML = "";
  }

  // ---- search a place, apply ----
  $("#place-search").addEventListener("submit", async e => {
    e.preventDefault();
    if (!elder) return;
    if (elder.lat == null || elder.lon == null) { say("#stay-msg", "老人档案里还没有住址坐标，暂时不能按远近查找。" + HELP); return; }
    const level = $("#place-level").value;
    const params = `lat=${elder.lat}&lon=${elder.lon}&care_level=${q(level)}${elder.gender ? `&gender=${q(elder.gender)}` : ""}&limit=10`;
    const btn = e.target.querySelector("button[type=submit]");
    btn.disabled = true;
    try {
      const found = list(await Youfu.api("GET", `${P}/bed-search?${params}`));
      $("#place-results").innerHTML = found.length ? `<h3>附近有${esc(LEVELS[level])}空床的机构（${found.length} 家）</h3><div class="grid">`
        + found.map(p => {
          const pidOf = pick(p, "provider_id", "id"), rate = pick(p, "daily_rate_fen"), dist = pick(p, "distance_m");
          return `<article class="card place-card"><h4>${esc(pick(p, "name", "provider_name"))}</h4><dl class="facts">`
            + (dist != null ? `<dt>距离</dt><dd>约 ${(dist / 1000).toFixed(1)} 公里</dd>` : "")
            + `<dt>空床</dt><dd>${esc(pick(p, "free_beds", "free") ?? "有")} 张</dd>`
            + (rate != null ? `<dt>每日床位费</dt><dd>${yuan(rate)} 元</dd>` : "")
            + `<dt>评分</dt><dd>${p.rating != null ? Number(p.rating).toFixed(1) + " 分" : "暂无"}</dd>`
            + (p.address ? `<dt>地址</dt><dd>${esc(p.address)}</dd>` : "") + `</dl>`
            + `<button type="button" class="primary" data-apply="${esc(pidOf)}" data-name="${esc(pick(p, "name", "provider_name"))}" data-level="${esc(level)}">申请入住${esc(pick(p, "name", "provider_name"))}</button></article>`;
        }).join("") + `</div>` : `<p>附近暂时没有${esc(LEVELS[level])}空床的机构。可以换一种照护等级再找，或${HELP}</p>`;
    } catch (err) { say("#stay-msg", "没有找成：" + explain(err)); }
    finally { btn.disabled = false; }
  });
  $("#place-results").addEventListener("click", e => {
    const b = e.target.closest("button[data-apply]");
    if (!b) return;
    chosen = { provider_id: b.dataset.apply, name: b.dataset.name, care_level: b.dataset.level };
    $("#apply-where").textContent = `为 ${elder.name} 申请入住 ${chosen.name}（${LEVELS[chosen.care_level]}床位）。`;
    $("#apply-start").value = dateIn(1); $("#apply-start").min = dateIn(0);
    $("#apply-msg").hidden = true;
    $("#apply-form").hidden = false;
    $("#apply-title").focus();
  });
  document.querySelectorAll('input[name="stay-kind"]').forEach(r => r.addEventListener("change", () => {
    const respite = document.querySelector('input[name="stay-kind"]:checked').value === "respite";
    $("#apply-end-box").hidden = !respite;
    if (respite && !$("#apply-end").value) $("#apply-end").value = dateIn(8);
  }));
  $("#apply-back").addEventListener("click", () => { $("#apply-form").hidden = true; chosen = null; });
  $("#apply-form").addEventListener("submit", async e => {
    e.preventDefault();
    if (!chosen) return;
    const kind = document.querySelector('input[name="stay-kind"]:checked').value;
    const body = { elder_id: elder.id, provider_id: chosen.provider_id, care_level: chosen.care_level, kind,
      planned_start: $("#apply-start").value, note: $("#apply-note").value.trim() };
    if (!body.planned_start) { say("#apply-msg", "请选择希望哪天入住。"); return; }
    if (kind === "respite") {
      body.planned_end = $("#apply-end").value;
      if (!body.planned_end) { say("#apply-msg", "短期托养请选择住到哪天。"); return; }
    }
    const btn = e.target.querySelector("button[type=submit]");
    btn.disabled = true;
    try {
      await Youfu.api("POST", `${O}/stay-applications`, body, { idempotencyKey: Youfu.uuid() });
      $("#apply-form").hidden = true;
      say("#stay-msg", `申请已提交给 ${chosen.name}，机构答复后这里会显示。`, "ok");
      chosen = null;
      await loadStay();
    } catch (err) { say("#apply-msg", "没有提交成功：" + explain(err)); }
    finally { btn.disabled = false; }
  });

  async function start() {
    const id = elderId();
    if (!id) { $("#stay").hidden = true; return; }
    try { elder = await Youfu.api("GET", `${A}/elders/${id}`); } catch { elder = { id, name: "老人" }; }
    $("#place-results").innerHTML = ""; $("#apply-form").hidden = true;
    await loadStay();
    document.body.setAttribute("data-stay-loaded", "true");
  }
  $("#elder-choice").addEventListener("click", e => { if (e.target.closest("button[data-elder]")) setTimeout(start, 0); });
  start();
  setInterval(() => { if (!document.hidden && $("#apply-form").hidden) loadStay(); }, 15000);
})();
