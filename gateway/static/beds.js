// The institution desk on the provider page (admins of a care institution or of a home-care centre
// with respite beds): the beds board by room, declaring beds and daily rates, the applications
// (accept with a bed, decline with a reason, admit), the residents (leave, return, transfer,
// discharge) and the monthly bed-day claim (confirm). Apart from provider.js so the two stay
// independent; the API is issue 22's contract (providers: beds; orders: stays; vouchers: claims).
(() => {
  const O = "/api/orders", P = "/api/providers", V = "/api/vouchers";
  const $ = s => document.querySelector(s);
  const esc = s => Youfu.esc(s);
  const yuan = fen => Youfu.yuan(fen || 0);
  const q = encodeURIComponent;
  const LEVELS = { self_care: "自理", nursing: "护理型", dementia: "失智照护" };
  const BED_STATUS = { free: "空闲", reserved: "已预留", occupied: "已入住", out_of_service: "停用" };
  const GENDER = { male: "男", female: "女" };
  const APPLICATION_STATE = { submitted: "待处理", accepted: "已接收，待入住", declined: "已婉拒", admitted: "已入住" };
  const STAY_STATE = { admitted: "在住", on_leave: "请假中", back: "在住（已销假）", transferred: "在住（已换床）",
    discharged: "已离院", ended_by_death: "已故" };
  const CLAIM_STATE = { drafted: "待机构确认", confirmed: "待民政审核", settled: "已结算" };
  const LEAVE_KIND = { home: "回家", hospital: "住院" };
  const DESK_KINDS = ["care_institution", "home_care_centre"];

  const me = Youfu.me();
  if (!me || me.role !== "provider_admin" || !me.provider_id || !Youfu.token()) return;
  const pid = me.provider_id;
  const pick = (o, ...keys) => { for (const k of keys) if (o && o[k] !== undefined && o[k] !== null) return o[k]; return undefined; };
  const idOf = (o, key) => pick(o, key, "id");
  const dayFmt = new Intl.DateTimeFormat("en-CA", { timeZone: Youfu.TZ });
  const today = () => dayFmt.format(new Date());
  const dateText = ds => { if (!ds) return ""; const [y, m, d] = String(ds).slice(0, 10).split("-").map(Number); return `${y}年${m}月${d}日`; };
  const say = (sel, text, kind = "error") => { Youfu.show(sel, text, kind); if (kind === "ok") $(sel).setAttribute("role", "status"); };
  const quiet = sel => { $(sel).hidden = true; };
  const explain = err => err.status === 0 ? "网络连接中断了，请检查网络后再试。"
    : err.status >= 500 ? "服务暂时出了问题，请过几分钟再试。仍有问题请拨打服务热线 88012349。"
    : Youfu.explain(err).replace(/[。.]?$/, "。");
  function toFen(text) { // "60", "60.5" → fen exactly; anything else → null
    const m = /^\s*(\d{1,6})(?:\.(\d{1,2}))?\s*$/.exec(text || "");
    return m ? Number(m[1]) * 100 + Number((m[2] || "").padEnd(2, "0")) : null;
  }
  const list = data => Array.isArray(data) ? data : (data && (data.items || data.beds)) || [];

  let beds = [], stays = [], applications = [], rates = {};
  const bedLabel = b => b ? `${b.room} 房 ${b.bed_no} 床` : "";
  const bedById = id => beds.find(b => idOf(b, "bed_id") === id);
  const elderName = x => pick(x, "elder_name") || `老人（编号 ${String(x.elder_id || "").slice(0, 8)}）`;

  // ---- beds board ----
  async function loadBeds() {
    try {
      const [data, r] = await Promise.all([Youfu.api("GET", `${P}/providers/${pid}/beds`),
        Youfu.api("GET", `${P}/providers/${pid}/bed-rates`).catch(() => null)]);
      beds = list(data);
      if (r) {
        rates = Object.fromEntries(r.rates.map(x => [x.care_level, x.daily_rate_fen]));
        r.rates.forEach(x => { const input = $(`#rate-${x.care_level}`); if (input && x.guide_daily_rate_fen != null) input.placeholder = `指导价 ${yuan(x.guide_daily_rate_fen)}`; });
      }
    } catch (err) { say("#desk-msg", "床位暂时读不出来：" + explain(err)); return; }
    const rooms = new Map();
    for (const b of [...beds].sort((a, c) => String(a.room).localeCompare(String(c.room), "zh-CN", { numeric: true })
      || String(a.bed_no).localeCompare(String(c.bed_no), "zh-CN", { numeric: true }))) {
      if (!rooms.has(b.room)) rooms.set(b.room, []);
      rooms.get(b.room).push(b);
    }
    const count = s => beds.filter(b => b.status === s).length;
    $("#beds-summary").textContent = beds.length ? `共 ${beds.length} 张床：空闲 ${count("free")}，已预留 ${count("reserved")}，`
      + `已入住 ${count("occupied")}，停用 ${count("out_of_service")}。` : "还没有登记床位，请在下面登记。";
    $("#beds-board").innerHTML = [...rooms].map(([room, list]) => {
      const g = list.find(b => b.room_gender);
      return `<div class="room card"><h5>${esc(room)} 房${g ? `（${GENDER[g.room_gender] || ""}）` : ""}</h5><ul class="bed-tiles">`
        + list.map(b => {
          const id = idOf(b, "bed_id"), who = stays.find(s => s.bed_id === id && !s.ended_on);
          const action = b.status === "free" ? `<button type="button" data-bed-status="out_of_service" data-bed="${esc(id)}" aria-label="停用${esc(bedLabel(b))}">停用</button>`
            : b.status === "out_of_service" ? `<button type="button" data-bed-status="free" data-bed="${esc(id)}" aria-label="恢复${esc(bedLabel(b))}">恢复可用</button>` : "";
          return `<li class="bed-tile bed-${esc(b.status)}" data-bed-id="${esc(id)}"><strong>${esc(b.bed_no)} 床</strong>`
            + `<span class="bed-level">${esc(LEVELS[b.care_level] || b.care_level)}</span>`
            + `<span class="bed-status">${esc(BED_STATUS[b.status] || b.status)}</span>`
            + (who ? `<span class="bed-who">${esc(elderName(who))}</span>` : "") + action + `</li>`;
        }).join("") + "</ul></div>";
    }).join("");
    for (const level of Object.keys(LEVELS)) {
      const input = $(`#rate-${level}`);
      if (rates[level] != null && document.activeElement !== input && !input.dataset.touched) input.value = yuan(rates[level]);
    }
  }
  $("#beds-board").addEventListener("click", async e => {
    const b = e.target.closest("button[data-bed-status]");
    if (!b) return;
    b.disabled = true;
    try {
      await Youfu.api("PATCH", `${P}/beds/${b.dataset.bed}`, { status: b.dataset.bedStatus });
      await loadBeds();
      say("#desk-msg", b.dataset.bedStatus === "free" ? "这张床已恢复可用。" : "这张床已停用，不会再分配给新入住的老人。", "ok");
    } catch (err) { b.disabled = false; say("#desk-msg", "没有改成功：" + explain(err)); }
  });
  $("#beds-form").addEventListener("submit", async e => {
    e.preventDefault();
    const room = $("#bed-room").value.trim();
    const numbers = $("#bed-numbers").value.split(/[\s,，、]+/).map(x => x.trim()).filter(Boolean);
    if (!room || !numbers.length) { say("#desk-msg", "请填写房间号和床号，例如房间 101，床号 1,2。"); return; }
    const gender = $("#bed-gender").value || null;
    const body = { beds: numbers.map(n => ({ room, bed_no: n, care_level: $("#bed-level").value, room_gender: gender })) };
    const btn = e.target.querySelector("button[type=submit]");
    btn.disabled = true;
    try {
      await Youfu.api("POST", `${P}/providers/${pid}/beds`, body);
      $("#bed-numbers").value = "";
      await loadBeds();
      say("#desk-msg", `已登记 ${room} 房 ${numbers.length} 张床（${LEVELS[$("#bed-level").value]}）。`, "ok");
    } catch (err) { say("#desk-msg", "没有登记成功：" + explain(err)); }
    finally { btn.disabled = false; }
  });
  document.querySelectorAll("#rates-form input").forEach(x => x.addEventListener("input", () => { x.dataset.touched = "1"; }));
  $("#rates-form").addEventListener("submit", async e => {
    e.preventDefault();
    const body = { rates: [] }, wrong = [];
    for (const [level, name] of Object.entries(LEVELS)) {
      const text = $(`#rate-${level}`).value.trim();
      if (!text) continue;
      const fen = toFen(text);
      if (fen === null) wrong.push(name); else body.rates.push({ care_level: level, daily_rate_fen: fen });
    }
    if (wrong.length) { say("#desk-msg", `${wrong.join("、")}的床位费请填数字，单位是元，例如 100 或 100.50。`); return; }
    if (!body.rates.length) { say("#desk-msg", "请至少填写一种照护等级的每日床位费。"); return; }
    const btn = e.target.querySelector("button[type=submit]");
    btn.disabled = true;
    try {
      await Youfu.api("PUT", `${P}/providers/${pid}/bed-rates`, body);
      document.querySelectorAll("#rates-form input").forEach(x => { delete x.dataset.touched; });
      body.rates.forEach(r => { rates[r.care_level] = r.daily_rate_fen; });
      say("#desk-msg", "已保存床位费：" + body.rates.map(r => `${LEVELS[r.care_level]} ${yuan(r.daily_rate_fen)} 元/天`).join("，") + "。", "ok");
    } catch (err) { say("#desk-msg", "没有保存成功：" + explain(err)); }
    finally { btn.disabled = false; }
  });

  // ---- applications: accept with a bed, decline with a reason, admit ----
  async function loadApplications() {
    try { applications = list(await Youfu.api("GET", `${O}/stay-applications?provider_id=${q(pid)}`)); }
    catch (err) { say("#applications-msg", "入住申请暂时读不出来：" + explain(err)); return; }
    quiet("#applications-msg");
    const open = applications.filter(a => ["submitted", "accepted"].includes(a.status));
    Youfu.table("#applications-body", { caption: "待处理的入住申请", name: "入住申请", sheet: "入住申请", rows: open,
      empty: "现在没有待处理的入住申请。",
      columns: [
        { h: "老人", v: a => elderName(a) },
        { h: "照护等级", v: a => LEVELS[a.care_level] || a.care_level },
        { h: "类型", v: a => a.kind === "respite" ? "短期托养" : "长期入住" },
        { h: "希望入住", v: a => dateText(a.planned_start) + (a.planned_end ? ` 至 ${dateText(a.planned_end)}` : "") },
        { h: "留言", v: a => a.note || "", long: true },
        { h: "状态", v: a => (APPLICATION_STATE[a.status] || a.status_name || a.status) + (a.bed_id ? `（${bedLabel(bedById(a.bed_id))}）` : "") },
        { h: "办理", noExport: true, html: a => applicationActions(a) },
      ] });
  }
  function applicationActions(a) {
    const id = esc(idOf(a, "application_id")), who = esc(elderName(a));
    if (a.status === "accepted") {
      return `<div class="row-actions"><label for="admit-on-${id}">${who}入住日期</label>`
        + `<input id="admit-on-${id}" type="date" value="${esc(a.planned_start && a.planned_start <= today() ? a.planned_start : today())}">`
        + `<button type="button" class="primary" data-admit="${id}">办理入住</button></div>`;
    }
    const free = beds.filter(b => b.status === "free" && b.care_level === a.care_level);
    const options = free.map(b => `<option value="${esc(idOf(b, "bed_id"))}">${esc(bedLabel(b))}${b.room_gender ? `（${GENDER[b.room_gender]}）` : ""}</option>`).join("");
    return `<div class="row-actions">`
      + (free.length ? `<label for="accept-bed-${id}">给${who}安排床位</label><select id="accept-bed-${id}">${options}</select>`
        + `<button type="button" class="primary" data-accept="${id}">接收</button>`
        : `<span class="muted">没有空闲的${esc(LEVELS[a.care_level] || "")}床位</span>`)
      + `<label for="decline-why-${id}">婉拒原因</label><input id="decline-why-${id}" maxlength="500" placeholder="例如：护理型床位已满">`
      + `<button type="button" data-decline="${id}">婉拒</button></div>`;
  }
  $("#applications-body").addEventListener("click", async e => {
    const b = e.target.closest("button[data-accept],button[data-decline],button[data-admit]");
    if (!b) return;
    b.disabled = true;
    try {
      if (b.dataset.accept) {
        const id = b.dataset.accept, bed = $(`#accept-bed-${CSS.escape(id)}`).value;
        await Youfu.api("POST", `${O}/stay-applications/${id}/accept`, { bed_id: bed }, { idempotencyKey: Youfu.uuid() });
        say("#applications-msg", `已接收，${bedLabel(bedById(bed))}为这位老人预留。入住当天请点“办理入住”。`, "ok");
      } else if (b.dataset.decline) {
        const id = b.dataset.decline, reason = $(`#decline-why-${CSS.escape(id)}`).value.trim();
        if (!reason) { b.disabled = false; say("#applications-msg", "婉拒请写明原因，老人和家属会看到。"); return; }
        await Youfu.api("POST", `${O}/stay-applications/${id}/decline`, { reason });
        say("#applications-msg", "已婉拒这份申请，原因会告诉老人和家属。", "ok");
      } else {
        const id = b.dataset.admit, on = $(`#admit-on-${CSS.escape(id)}`).value;
        if (!on) { b.disabled = false; say("#applications-msg", "请选择入住日期。"); return; }
        await Youfu.api("POST", `${O}/stays`, { application_id: id, admitted_on: on }, { idempotencyKey: `admit-${id}` });
        say("#applications-msg", `已办理入住（${dateText(on)}）。老人已列在下面的“在住老人”里。`, "ok");
      }
      await refresh();
    } catch (err) { b.disabled = false; say("#applications-msg", "没有办成：" + explain(err)); }
  });

  // ---- residents: leave, return, transfer, discharge ----
  async function loadStays() {
    try { stays = list(await Youfu.api("GET", `${O}/stays?provider_id=${q(pid)}&open=true&limit=500`)); }
    catch (err) { say("#residents-msg", "在住老人暂时读不出来：" + explain(err)); return; }
    quiet("#residents-msg");
    Youfu.table("#residents-body", { caption: "在住老人", name: "在住老人", sheet: "在住老人", rows: stays,
      empty: "现在没有在住的老人。",
      columns: [
        { h: "老人", v: s => elderName(s) },
        { h: "床位", v: s => pick(s, "bed_label") || bedLabel(bedById(s.bed_id)) },
        { h: "照护等级", v: s => LEVELS[s.care_level] || s.care_level },
        { h: "入住日期", v: s => dateText(s.admitted_on) },
        { h: "每日床位费（元）", v: s => s.daily_rate_fen, money: true },
        { h: "状态", v: s => (STAY_STATE[s.status] || s.status_name || s.status) + (s.status === "on_leave" && s.leave
          ? `（${LEAVE_KIND[s.leave.kind] || ""} ${dateText(s.leave.from)} 至 ${dateText(s.leave.to)}）` : "") },
        { h: "办理", noExport: true, html: s => stayActions(s) },
      ] });
  }
  function stayActions(s) {
    const id = esc(idOf(s, "stay_id")), who = esc(elderName(s)), t = today();
    const reserved = beds.filter(b => b.status === "free"); // orders reserves the bed it moves into
    const parts = [];
    if (s.status === "on_leave") {
      parts.push(`<label for="return-on-${id}">${who}返院日期</label><input id="return-on-${id}" type="date" value="${t}">`
        + `<button type="button" data-stay-act="return" data-stay="${id}">返院</button>`);
    } else {
      parts.push(`<details><summary>请假</summary><label for="leave-kind-${id}">${who}请假类型</label>`
        + `<select id="leave-kind-${id}"><option value="home">回家</option><option value="hospital">住院</option></select>`
        + `<label for="leave-from-${id}">从</label><input id="leave-from-${id}" type="date" value="${t}">`
        + `<label for="leave-to-${id}">到</label><input id="leave-to-${id}" type="date" value="${t}">`
        + `<button type="button" data-stay-act="leave" data-stay="${id}">登记请假</button></details>`);
    }
    if (reserved.length) {
      parts.push(`<details><summary>换床</summary><label for="transfer-bed-${id}">${who}换到</label><select id="transfer-bed-${id}">`
        + reserved.map(b => `<option value="${esc(idOf(b, "bed_id"))}">${esc(bedLabel(b))}（${esc(LEVELS[b.care_level] || "")}）</option>`).join("")
        + `</select><label for="transfer-on-${id}">换床日期</label><input id="transfer-on-${id}" type="date" value="${t}">`
        + `<button type="button" data-stay-act="transfer" data-stay="${id}">换床</button></details>`);
    }
    parts.push(`<details><summary>离院</summary><label for="discharge-on-${id}">${who}离院日期</label><input id="discharge-on-${id}" type="date" value="${t}">`
      + `<label for="discharge-why-${id}">离院原因</label><input id="discharge-why-${id}" maxlength="200" placeholder="例如：家属接回家照护">`
      + `<button type="button" data-stay-act="discharge" data-stay="${id}">办理离院</button></details>`);
    return `<div class="row-actions stay-actions">${parts.join("")}</div>`;
  }
  $("#residents-body").addEventListener("click", async e => {
    const b = e.target.closest("button[data-stay-act]");
    if (!b) return;
    const id = b.dataset.stay, act = b.dataset.stayAct, v = name => $(`#${name}-${CSS.escape(id)}`).value.trim();
    let body, done;
    if (act === "leave") { body = { kind: v("leave-kind"), from: v("leave-from"), to: v("leave-to") }; done = "已登记请假。"; }
    else if (act === "return") { body = { on: v("return-on") }; done = "已登记返院。"; }
    else if (act === "transfer") { body = { bed_id: v("transfer-bed"), on: v("transfer-on") }; done = "已换床。"; }
    else {
      body = { on: v("discharge-on"), reason: v("discharge-why") };
      if (!body.reason) { say("#residents-msg", "办理离院请写明原因，例如：家属接回家照护。"); return; }
      done = "已办理离院，床位已空出。";
    }
    if (Object.values(body).some(x => !x)) { say("#residents-msg", "请把日期填写完整。"); return; }
    b.disabled = true;
    try {
      await Youfu.api("POST", `${O}/stays/${id}/${act}`, body);
      say("#residents-msg", done, "ok");
      await refresh();
    } catch (err) { b.disabled = false; say("#residents-msg", "没有办成：" + explain(err)); }
  });

  // ---- the monthly claim ----
  const dailyRates = c => [...new Set((c.lines || []).filter(l => l.amount_fen).map(l => yuan(l.daily_rate_fen)))].join("、");
  async function loadClaims() {
    const month = $("#claims-month").value;
    let claims;
    try { claims = list(await Youfu.api("GET", `${V}/stay-claims?month=${q(month)}&provider_id=${q(pid)}`)); }
    catch (err) { say("#claims-msg", "床位费结算单暂时读不出来：" + explain(err)); return; }
    quiet("#claims-msg");
    Youfu.table("#claims-body", { caption: `${month} 床位费结算`, name: `床位费结算-${month}`, sheet: "床位费结算", rows: claims,
      empty: "这个月还没有床位费结算单（月末由民政部门生成）。",
      columns: [
        { h: "老人", v: c => elderName(c) },
        { h: "在院天数", v: c => c.present_days },
        { h: "计费请假天数", v: c => c.paid_leave_days },
        { h: "不计费请假天数", v: c => c.unpaid_leave_days },
        { h: "每日床位费（元）", v: c => dailyRates(c) },
        { h: "床位费合计（元）", v: c => c.amount_fen, money: true },
        { h: "托养券支付（元）", v: c => c.voucher_fen, money: true },
        { h: "老人自付（元）", v: c => c.elder_fen, money: true },
        { h: "状态", v: c => CLAIM_STATE[c.state] || c.state_name || c.state },
        { h: "确认", noExport: true, html: c => c.state === "drafted"
          ? `<button type="button" class="primary" data-confirm-claim="${esc(idOf(c, "claim_id"))}" aria-label="确认${esc(elderName(c))}的结算单">确认</button>` : "" },
      ] });
  }
  $("#claims-body").addEventListener("click", async e => {
    const b = e.target.closest("button[data-confirm-claim]");
    if (!b) return;
    b.disabled = true;
    try {
      await Youfu.api("POST", `${V}/stay-claims/${b.dataset.confirmClaim}/confirm`);
      say("#claims-msg", "已确认，等待区民政审核付款。", "ok");
      await loadClaims();
    } catch (err) { b.disabled = false; say("#claims-msg", "没有确认成功：" + explain(err)); }
  });
  $("#claims-form").addEventListener("submit", e => { e.preventDefault(); if ($("#claims-month").value) loadClaims(); });

  async function refresh() { await loadStays(); await loadBeds(); await loadApplications(); }

  // ---- start: only for the desks of kinds that keep beds ----
  (async () => {
    let provider;
    try { provider = await Youfu.api("GET", `${P}/providers/${pid}`); } catch { return; }
    if (!DESK_KINDS.includes(provider.kind)) return;
    document.querySelectorAll(".desk-only").forEach(x => { x.hidden = false; });
    if (provider.kind === "care_institution") { // an institution's work is its beds: the desk comes first
      const toc = document.querySelector("nav.toc");
      toc.after($("#desk"));
      toc.prepend(toc.querySelector('a[href="#desk"]'), " ");
    }
    const [y, m] = Youfu.month().split("-").map(Number); // claims are drafted once a month has ended: last month
    $("#claims-month").value = m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, "0")}`;
    $("#claims-month").max = Youfu.month();
    await loadBeds();
    await refresh();
    await loadClaims();
    document.body.setAttribute("data-desk-loaded", "true");
    setInterval(() => { if (!document.hidden && !document.activeElement.closest("#desk form, #desk .row-actions")) refresh(); }, 15000);
  })();
})();
