// The 12349 hotline desk (坐席, issue 25): from the caller's number to the elder (POST /api/hotline/lookups),
// one screen of the elder (assessment record and plans, orders, open alarms, voucher balances), ordering for
// the elder (POST /api/orders/orders), a complaint (POST /api/vouchers/complaints) and the call's record
// (POST /api/hotline/calls). Sections whose service has no such route yet answer 404: shown as "暂无".
(() => {
  // operators take calls; the bureau's officers use the page to search the call log only
  const me = Youfu.requireRole(["operator", "admin", "officer", "city_officer"], "热线坐席台");
  if (!me) return;
  const takesCalls = ["operator", "admin"].includes(me.role);
  const A = "/api/assessment", O = "/api/orders", V = "/api/vouchers", P = "/api/providers", H = "/api/hotline";
  const $ = s => document.querySelector(s), esc = s => Youfu.esc(s), yuan = f => Youfu.yuan(f);
  const say = (where, text, kind = "error") => Youfu.show(where, text, kind);
  const quiet = where => { const b = $(where); b.hidden = true; b.textContent = ""; };
  const explain = err => Youfu.explain(err);
  let call = null;        // {phone, kind, startedAt}: the call in progress, from the first lookup
  let elder = null;       // the elder on screen
  let orderKey = null, callKey = null, complaintKey = null;  // one Idempotency-Key per confirmation
  let lastOrderId = null, timer = null;

  $("#desk-scope").textContent = me.district_code ? "（本辖区）" : "（全市）";
  if (!takesCalls) { $("#lookup").hidden = true; $("#call").hidden = true; }
  if (me.district_code) $("#log-district-box").hidden = true;  // a district's desk or officer sees its own

  // ---- the call's clock ----
  function startCall(phone, kind) {
    if (call && call.phone === phone) { call.kind = kind; return; }
    call = { phone, kind, startedAt: new Date() };
    callKey = null;
    clearInterval(timer);
    const box = $("#call-timer");
    box.hidden = false;
    const tick = () => {
      const s = Math.floor((Date.now() - call.startedAt.getTime()) / 1000);
      box.textContent = `通话计时 ${Math.floor(s / 60)} 分 ${String(s % 60).padStart(2, "0")} 秒（来电 ${phone}）`;
    };
    tick(); timer = setInterval(tick, 1000);
  }

  // ---- who is calling ----
  $("#lookup-form").addEventListener("submit", async e => {
    e.preventDefault();
    const phone = $("#caller-phone").value.trim();
    quiet("#lookup-msg");
    if (!phone) { say("#lookup-msg", "请先输入来电号码。"); return; }
    const btn = $("#lookup-go");
    btn.disabled = true;
    try {
      const found = await Youfu.api("POST", `${H}/lookups`, { phone });
      startCall(found.caller.phone, found.caller.kind);
      const who = found.caller.kind === "elder" ? "老人本人" : found.caller.kind === "family"
        ? `家属${found.caller.name ? " " + found.caller.name : ""}` : "未登记的号码";
      $("#lookup-result").innerHTML = `<p id="caller-who">来电人：${esc(who)}（${esc(found.caller.phone_masked)}）</p>`
        + (found.elders.length ? `<ul class="elder-list">` + found.elders.map(x => `<li><span>${esc(x.name)}，${esc(x.gender_name || "")}`
          + `${x.age ? "，" + x.age + " 岁" : ""}，${esc(x.district_name || "")} ${esc(x.address || "")}`
          + `${x.relation ? "（来电人是其" + esc(x.relation) + "）" : ""}</span>`
          + `<button type="button" data-elder="${esc(x.id)}">查看${esc(x.name)}的档案</button></li>`).join("") + "</ul>"
          : `<p>本辖区没有找到这个号码对应的老人或家属。可以直接记录来电（咨询、其他）。</p>`);
      if (found.elders.length === 1) await openElder(found.elders[0].id);
    } catch (err) {
      say("#lookup-msg", "没有查到：" + explain(err));
    } finally { btn.disabled = false; }
  });
  $("#lookup-result").addEventListener("click", e => {
    const b = e.target.closest("button[data-elder]");
    if (b) openElder(b.dataset.elder);
  });

  // ---- one screen of the elder ----
  async function openElder(id) {
    try {
      elder = await Youfu.api("GET", `${A}/elders/${encodeURIComponent(id)}`);
    } catch (err) { say("#lookup-msg", "档案读不出来：" + explain(err)); return; }
    orderKey = null; complaintKey = null; lastOrderId = null;
    $("#profile-title").textContent = `${elder.name}的档案`;
    const contacts = (elder.emergency_contacts || []).map(c => `${c.name}（${c.relation}）${c.phone}`).join("；") || "无";
    const facts = [["性别、年龄", `${elder.gender_name}，${elder.age} 岁`], ["区县", `${elder.district_name} ${elder.street || ""}`],
      ["住址", elder.address], ["电话", elder.phone || "无"], ["身份证号", elder.id_card],
      ["照护等级", elder.grade === null || elder.grade === undefined ? "未评估" : `${elder.grade} 级`],
      ["居住、经济", `${elder.living_situation_name}，${elder.economic_status_name}`],
      ["特困", elder.special_hardship ? "是" : "否"], ["档案状态", elder.status_name], ["紧急联系人", contacts]];
    $("#profile-body").innerHTML = facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("");
    ["#profile", "#order", "#complaint"].forEach(s => { $(s).hidden = false; });
    $("#profile").scrollIntoView({ block: "start" });
    await Promise.all([loadPlan(), loadOrders(), loadAlarms(), loadWallet()]);
  }

  // a section whose route is not there (404: another part of the platform not yet running) says 暂无
  async function section(box, load, none) {
    const asked = elder.id;
    try {
      const html = await load();
      if (asked === elder.id) $(box).innerHTML = html;
    } catch (err) {
      if (asked !== elder.id) return;
      $(box).innerHTML = err.status === 404 ? `<p class="muted">${esc(none)}</p>` : `<p>暂时读不出来：${esc(explain(err))}</p>`;
    }
  }

  const loadPlan = () => section("#plan-body", async () => {
    const plans = Youfu.rows(await Youfu.api("GET", `${A}/elders/${encodeURIComponent(elder.id)}/care-plans`));
    const live = plans.filter(p => ["active", "to_review", "awaiting_consent"].includes(p.state));
    if (!live.length) return `<p class="muted">暂无照护计划</p>`;
    return live.map(p => `<p><strong>${esc(Youfu.PLAN_STATES[p.state] || p.state)}</strong>`
      + `${p.budget ? "：" + esc(Youfu.budgetText(p.budget)) : ""}</p><ul>`
      + (p.items || []).map(i => `<li>${esc(Youfu.planItemText(i))}</li>`).join("") + "</ul>").join("");
  }, "暂无照护计划");

  const loadOrders = () => section("#orders-body", async () => {
    const orders = Youfu.rows(await Youfu.api("GET", `${O}/orders?elder_id=${encodeURIComponent(elder.id)}&limit=5`));
    const pick = $("#complaint-order");
    pick.innerHTML = `<option value="">不涉及具体订单</option>` + orders.map(o =>
      `<option value="${esc(o.order_id)}">${esc(o.service_name)} ${esc(Youfu.localTime(o.window_start))}</option>`).join("");
    if (!orders.length) return `<p class="muted">暂无订单</p>`;
    return `<ul>` + orders.map(o => `<li>${esc(o.service_name)}，${esc(Youfu.localTime(o.window_start))}，`
      + `<strong>${esc(o.state_label)}</strong>${o.provider_name ? "，" + esc(o.provider_name) : ""}`
      + `${o.caregiver_name ? "，护理员 " + esc(o.caregiver_name) : ""}</li>`).join("") + "</ul>";
  }, "暂无订单");

  const loadAlarms = () => section("#alarms-body", async () => {
    const alarms = Youfu.rows(await Youfu.api("GET", `${O}/alarms?elder_id=${encodeURIComponent(elder.id)}&state=open`));
    if (!alarms.length) return `<p class="muted">暂无</p>`;
    return `<ul>` + alarms.map(a => `<li><strong>${esc(a.state_label || a.state || "未处理")}</strong>，`
      + `${esc(Youfu.localTime(a.raised_at))}${a.caregiver_name ? "，" + esc(a.caregiver_name) + "正在赶来" : ""}</li>`).join("") + "</ul>";
  }, "暂无");

  const loadWallet = () => section("#wallet-body", async () => {
    const w = await Youfu.api("GET", `${V}/wallets/${encodeURIComponent(elder.id)}`);
    if (!w.vouchers || !w.vouchers.length) return `<p class="muted">本月暂无代金券</p>`;
    return `<ul>` + w.vouchers.map(v => `<li>${esc(v.kind_name)}：还可以用 <strong>${yuan(v.available_fen)}</strong> 元`
      + `（本月发放 ${yuan(v.face_value_fen)} 元，已用 ${yuan(v.spent_fen)} 元）</li>`).join("") + "</ul>";
  }, "本月暂无代金券");

  // ---- ordering for the elder ----
  async function loadServices() {
    try {
      const items = (await Youfu.api("GET", `${P}/service-items`)).filter(i => i.unit !== "per_month");
      $("#order-service").innerHTML = items.map(i => `<option value="${esc(i.code)}">${esc(i.name)}（${yuan(i.guide_price_fen)} 元）</option>`).join("");
    } catch (err) { say("#order-msg", "服务目录读不出来：" + explain(err)); }
  }
  const tomorrow = new Date(Date.now() + 86400000).toLocaleDateString("en-CA", { timeZone: Youfu.TZ });
  $("#order-date").value = tomorrow;
  $("#order-form").addEventListener("change", () => { orderKey = null; });
  $("#order-form").addEventListener("submit", async e => {
    e.preventDefault();
    if (!elder) return;
    const [from, to] = $("#order-slot").value.split("-"), day = $("#order-date").value;
    if (!day) { say("#order-msg", "请选择服务日期。"); return; }
    const body = { elder_id: elder.id, service_code: $("#order-service").value, payment: $("#order-pay").value,
      window_start: `${day}T${from}:00+08:00`, window_end: `${day}T${to}:00+08:00`, notes: $("#order-notes").value.trim() };
    orderKey = orderKey || Youfu.uuid();
    const btn = $("#order-go");
    btn.disabled = true;
    try {
      const order = await Youfu.api("POST", `${O}/orders`, body, { idempotencyKey: orderKey });
      lastOrderId = order.order_id; orderKey = null;
      say("#order-msg", `已代为下单：${order.service_name}，${Youfu.localTime(order.window_start)}。${order.summary}。`, "ok");
      $("#call-reason").value = "order"; $("#call-outcome").value = "order_placed";
      await Promise.all([loadOrders(), loadWallet()]);
    } catch (err) {
      say("#order-msg", "没有下单成功：" + explain(err));
    } finally { btn.disabled = false; }
  });

  // ---- a complaint (vouchers' oversight) ----
  $("#complaint-form").addEventListener("input", () => { complaintKey = null; });
  $("#complaint-form").addEventListener("submit", async e => {
    e.preventDefault();
    if (!elder) return;
    const text = $("#complaint-text").value.trim();
    if (!text) { say("#complaint-msg", "请写下投诉内容。"); return; }
    // vouchers files a complaint about an order, or about a provider it names: the desk picks the order
    if (!$("#complaint-order").value) { say("#complaint-msg", "请选择涉及的订单（投诉会转给该订单的服务机构所在区的民政科室）。"); return; }
    complaintKey = complaintKey || Youfu.uuid();
    try {
      await Youfu.api("POST", `${V}/complaints`, { elder_id: elder.id, order_id: $("#complaint-order").value || null,
        subject: "order", text }, { idempotencyKey: complaintKey });
      say("#complaint-msg", "投诉已登记，会在规定时限内答复。", "ok");
      $("#call-reason").value = "complaint"; $("#call-outcome").value = "complaint_filed";
    } catch (err) {
      say("#complaint-msg", err.status === 404 ? "投诉登记暂未开通，请把投诉内容写进本次来电的备注。" : "没有登记成功：" + explain(err));
    }
  });

  // ---- the call's record ----
  $("#call-form").addEventListener("change", () => { callKey = null; });
  $("#call-form").addEventListener("submit", async e => {
    e.preventDefault();
    if (!call) { say("#call-msg", "请先在上面输入来电号码。"); return; }
    const body = { caller_phone: call.phone, caller_kind: call.kind, elder_id: elder ? elder.id : null,
      reason: $("#call-reason").value, outcome: $("#call-outcome").value, note: $("#call-note").value.trim(),
      started_at: call.startedAt.toISOString(), ended_at: (call.endedAt || new Date()).toISOString(), order_id: lastOrderId };
    call.endedAt = new Date(body.ended_at);
    callKey = callKey || Youfu.uuid();
    try {
      const saved = await Youfu.api("POST", `${H}/calls`, body, { idempotencyKey: callKey });
      say("#call-msg", `已记录本次来电：${saved.reason_name}，${saved.outcome_name}，通话 ${Math.floor(saved.duration_s / 60)} 分 ${saved.duration_s % 60} 秒。`, "ok");
      clearInterval(timer); $("#call-timer").hidden = true;
      call = null; elder = null; callKey = null; lastOrderId = null;
      $("#call-note").value = ""; $("#caller-phone").value = ""; $("#lookup-result").innerHTML = "";
      ["#profile", "#order", "#complaint"].forEach(s => { $(s).hidden = true; });
      await loadLog();
    } catch (err) {
      say("#call-msg", "没有记录成功：" + explain(err));
    }
  });

  // ---- the call log: today's by default, searched by days, reason, district and number ----
  const today = () => new Date().toLocaleDateString("en-CA", { timeZone: Youfu.TZ });
  $("#log-from").value = $("#log-to").value = today();
  async function loadLog() {
    const q = new URLSearchParams({ limit: "200" });
    [["date_from", "#log-from"], ["date_to", "#log-to"], ["reason", "#log-reason"], ["district_code", "#log-district"],
      ["caller_phone", "#log-phone"]].forEach(([k, sel]) => { const v = $(sel).value.trim(); if (v) q.set(k, v); });
    quiet("#log-msg");
    try {
      const log = await Youfu.api("GET", `${H}/calls?${q}`);
      const span = q.get("date_from") === q.get("date_to") ? q.get("date_from") || "" : `${q.get("date_from") || ""}至${q.get("date_to") || ""}`;
      Youfu.table("#log-body", { caption: `来电记录 ${span}（共 ${log.total} 条）`, name: `来电记录-${span}`, rows: log.items,
        empty: "没有符合条件的来电记录",
        columns: [
          { h: "时间", v: r => Youfu.localTime(r.started_at) },
          { h: "来电号码", v: r => r.caller_phone },
          { h: "老人", v: r => r.elder_name || "" },
          { h: "区县", v: r => r.district_name || "" },
          { h: "事由", v: r => r.reason_name },
          { h: "结果", v: r => r.outcome_name },
          { h: "时长（秒）", v: r => r.duration_s },
          { h: "坐席", v: r => r.operator_name },
          { h: "备注", v: r => r.note, long: true },
        ] });
    } catch (err) { say("#log-msg", "来电记录暂时读不出来：" + explain(err)); }
  }
  $("#log-form").addEventListener("submit", e => { e.preventDefault(); loadLog(); });

  // live notices (when the page has them): an alarm of the elder on screen changes → read the alarms again
  if (window.youfuNotices) ["alarm.raised", "alarm.acknowledged", "alarm.escalated", "alarm.closed"].forEach(kind =>
    window.youfuNotices.on(kind, () => { if (elder) loadAlarms(); }));

  Promise.all([takesCalls ? loadServices() : null, loadLog()]).finally(() => { document.body.dataset.loaded = "true"; });
})();
