// The 12349 hotline desk (坐席, issue 25): from the caller's number to the elder (POST /api/hotline/lookups),
// one screen of the elder (assessment record and plans, orders, open alarms, voucher balances), ordering for
// the elder (POST /api/orders/orders), a complaint (POST /api/vouchers/complaints) and the call's record
// (POST /api/hotline/calls). Sections whose service has no such route yet answer 404: shown as "暂无".
// Above it, the alarms that need a person (D64): the scope's open alarms nobody has answered
// (`GET /api/orders/alarms?open=true`, escalated first), each closed with an outcome or turned into an
// order from the desk; re-read on the live notices when the page has them, and every 15 s whatever.
// On the elder's screen, the return visits drawn for the elder (vouchers' samples of the last three
// months) and the answer the caller gives (POST /api/vouchers/return-visits/{id}/result).
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
  let services = [];      // the catalogue (code, name), for the alarms' orders and the return visits' names
  const visitKeys = {};   // return visit id → {body, key}: the same answer resent is the same answer

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
    quiet("#visits-msg");
    await Promise.all([loadPlan(), loadOrders(), loadAlarms(), loadWallet(), loadVisits()]);
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
    const alarms = Youfu.rows(await Youfu.api("GET", `${O}/alarms?elder_id=${encodeURIComponent(elder.id)}&open=true`));
    if (!alarms.length) return `<p class="muted">暂无</p>`;
    return `<ul>` + alarms.map(a => `<li><strong>${esc(a.state_name || a.state)}</strong>，`
      + `${esc(Youfu.localTime(a.raised_at))}（${esc(a.source_name || "")}）`
      + `${a.acknowledged_by_name ? "，" + esc(a.acknowledged_by_name) + "正在赶来" : ""}`
      + `${a.state === "escalated" ? "，见页首“需要坐席处理的紧急呼叫”" : ""}</li>`).join("") + "</ul>";
  }, "暂无");

  // ---- the elder's return visits: drawn by the district's officer after a month ends (vouchers), the
  // caller's answer booked here. The last three months' samples of the elder's district, this elder's
  // visits in them; 联系不上 may be followed by another call, any other answer stands.
  const VISIT_RESULTS = [["satisfied", "满意"], ["dissatisfied", "不满意"], ["not_delivered", "服务未发生"],
    ["unreachable", "联系不上"]];
  const serviceName = code => (services.find(i => i.code === code) || {}).name || code;
  function pastMonths(n) {
    const [y, m] = Youfu.month().split("-").map(Number);
    return Array.from({ length: n }, (_, i) => new Date(Date.UTC(y, m - 2 - i, 1)).toISOString().slice(0, 7));
  }
  function visitItem(v) {
    const id = esc(v.visit_id), svc = serviceName(v.service_code);
    const head = `<p><strong>${esc(v.month)} 回访抽样</strong>：${esc(svc)}，${esc(Youfu.localTime(v.completed_at))} 完成；`
      + `回访结果 <strong class="visit-result">${esc(v.result_name)}</strong>${v.attempts ? `（已回访 ${v.attempts} 次）` : ""}`
      + `${v.note ? "，备注：" + esc(v.note) : ""}${v.finding ? "；已生成核实事项，暂扣该订单结算" : ""}</p>`;
    if (!takesCalls || (v.result && v.result !== "unreachable")) return `<div class="visit">${head}</div>`;
    return `<form class="visit visit-form" data-visit="${id}" novalidate aria-label="记录回访结果：${esc(svc)}">${head}
      <fieldset class="choices"><legend>老人（或家属）的回答</legend><div class="choice-list">`
      + VISIT_RESULTS.map(([k, t]) => `<label class="choice"><input type="radio" name="visit-${id}" value="${k}"> ${t}</label>`).join("")
      + `</div></fieldset>
      <label for="visit-note-${id}">回访备注（可不填，不超过 500 字）</label>
      <input id="visit-note-${id}" class="visit-note" maxlength="500" autocomplete="off">
      <p class="actions"><button type="submit">记录回访结果</button></p></form>`;
  }
  const loadVisits = () => section("#visits-body", async () => {
    const district = elder.district_code;
    const samples = await Promise.all(pastMonths(3).map(month => Youfu.api("GET",
      `${V}/return-visit-samples?month=${month}${district ? "&district_code=" + encodeURIComponent(district) : ""}`)
      .catch(err => { if (err.status === 404) return null; throw err; })));  // 404: that month not drawn
    const visits = samples.filter(Boolean).flatMap(s => s.visits.filter(v => v.elder_id === elder.id)
      .map(v => ({ ...v, month: s.month })));
    return visits.length ? visits.map(visitItem).join("") : `<p class="muted">近三个月没有抽到这位老人的回访</p>`;
  }, "近三个月没有抽到这位老人的回访");
  $("#visits-body").addEventListener("submit", async e => {
    const form = e.target.closest("form.visit-form");
    if (!form) return;
    e.preventDefault();
    const id = form.dataset.visit, picked = form.querySelector("input[type=radio]:checked");
    if (!picked) { say("#visits-msg", "请选择回访结果：满意、不满意、服务未发生或联系不上。"); return; }
    const body = { result: picked.value, note: form.querySelector(".visit-note").value.trim() || null };
    const sent = JSON.stringify(body);
    if (!visitKeys[id] || visitKeys[id].body !== sent) visitKeys[id] = { body: sent, key: Youfu.uuid() };
    const btn = form.querySelector("button[type=submit]");
    btn.disabled = true;
    try {
      const saved = await Youfu.api("POST", `${V}/return-visits/${encodeURIComponent(id)}/result`, body,
        { idempotencyKey: visitKeys[id].key });
      $("#call-reason").value = "return_visit"; $("#call-outcome").value = "answered";
      await loadVisits();
      say("#visits-msg", `已记录回访结果：${saved.result_name}`
        + `${saved.finding ? "。已生成核实事项，该订单暂不结算，由民政科室核实" : ""}。`, "ok");
    } catch (err) {
      say("#visits-msg", "没有记录成功：" + explain(err));
      btn.disabled = false;
    }
  });

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
      services = items;
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

  // ---- the alarms that need a person: escalated (nobody answered in time, or nobody could be alerted)
  // first, then those still waiting for a caregiver; newest first within each. 我来处理 opens the
  // elder's one screen and marks the alarm as this desk's (in this browser: D64); closing is the
  // orders service's conditional update, so of two desks closing at once one is told it is closed.
  const OUTCOMES = [["resolved_on_site", "现场已处置"], ["called_120", "已拨打 120"], ["false_alarm", "误报"]];
  const PAYMENTS = [["community", "社区照护券"], ["mutual_aid", "邻里互助券"], ["self_pay", "自费"]];
  const URGENCY = { escalated: 0, raised: 1 };
  const alarmList = $("#alarm-desk-list");
  const taken = new Set(JSON.parse(sessionStorage.getItem("yf.desk.taken") || "[]"));
  const keepTaken = () => sessionStorage.setItem("yf.desk.taken", JSON.stringify([...taken]));
  const hhmm = iso => Youfu.localTime(iso).slice(-8, -3);
  function since(iso) {
    const s = Math.max(0, Math.floor((Date.now() - new Date(iso).getTime()) / 1000));
    if (s < 60) return `${s} 秒前`;
    if (s < 3600) return `${Math.floor(s / 60)} 分钟前`;
    return `${Math.floor(s / 3600)} 小时 ${Math.floor((s % 3600) / 60)} 分钟前`;
  }
  const options = (pairs, chosen) => pairs.map(([v, t]) =>
    `<option value="${esc(v)}"${v === chosen ? " selected" : ""}>${esc(t)}</option>`).join("");
  function alarmCard(a) {
    const id = esc(a.id), name = a.elder_name || "老人";
    const home = a.address || "";
    const gps = a.lat != null && a.lon != null ? `北纬 ${a.lat.toFixed(5)}，东经 ${a.lon.toFixed(5)}` : "";
    const place = a.location_source === "device" ? `设备定位：${gps}${home ? "（住址：" + home + "）" : ""}` : (home || gps || "位置不明");
    const alerted = a.alerted.length ? a.alerted.map(x => `${x.caregiver_name || "护理员"}（${x.provider_name || "服务机构"}`
      + `${x.distance_m != null ? "，约 " + x.distance_m + " 米" : ""}）`).join("、") : "无人（附近没有在班的护理员）";
    const why = a.state === "escalated" ? (a.escalation_reason === "no_caregiver" ? "附近没有可通知的护理员，已直接转坐席"
      : `${Math.round(a.targets.ack_target_s / 60)} 分钟内无护理员响应，已转坐席`)
      : !a.alerted.length ? "附近没有可通知的护理员，正在转坐席"
      : `已通知护理员，等待响应；${Math.round(a.targets.ack_target_s / 60)} 分钟内无人响应将转坐席`;
    const svcs = services.length ? services.map(i => [i.code, i.name]) : [["emergency", "助急"]];
    const facts = [["呼叫时间", `${hhmm(a.raised_at)}（<span class="since">${since(a.raised_at)}</span>），${esc(a.source_name)}`
        + `${a.press_count > 1 ? `，共按了 ${a.press_count} 次` : ""}`],
      ["位置", esc(place)], ["已通知", esc(alerted)]];
    if (taken.has(a.id)) facts.push(["处理", "本坐席正在处理"]);
    if (a.order_id) facts.push(["订单", "已由此呼叫生成订单"]);
    const art = document.createElement("article");
    art.className = `desk-alarm ${a.state}`;
    Object.assign(art.dataset, { id: a.id, elder: a.elder_id, name });
    art.setAttribute("aria-label", `${name}的紧急呼叫`);
    art.innerHTML = `<h4>${esc(name)} · ${esc(a.state_name)}</h4><p class="why"><strong>${esc(why)}</strong></p>
      <dl class="facts">${facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join("")}</dl>
      ${takesCalls ? `<p class="row-actions"><button type="button" class="primary" data-act="take">${taken.has(a.id) ? "打开档案" : "我来处理"}</button></p>` : ""}
      <div class="alarm-close">
        <div><label for="outcome-${id}">处置结果</label><select id="outcome-${id}" class="outcome">${options(OUTCOMES)}</select></div>
        <div><label for="close-note-${id}">处置说明（可不填）</label>
          <input id="close-note-${id}" class="close-note" maxlength="500" autocomplete="off"></div>
        <button type="button" data-act="close">结束呼叫</button>
      </div>
      ${a.order_id ? "" : `<details class="alarm-order"><summary>由此呼叫生成订单（需要上门陪护时）</summary>
        <div class="alarm-close">
          <div><label for="order-svc-${id}">服务项目</label><select id="order-svc-${id}" class="order-svc">${options(svcs, "emergency")}</select></div>
          <div><label for="order-pay-${id}">付款方式</label><select id="order-pay-${id}" class="order-pay">${options(PAYMENTS)}</select></div>
          <button type="button" data-act="order">生成订单</button>
        </div></details>`}`;
    return art;
  }
  // what a card shows (a change re-draws it, keeping what the operator was typing); otherwise only "N 分钟前"
  const signature = a => JSON.stringify([a.state, a.press_count, a.order_id, a.alerted.map(x => x.caregiver_id), taken.has(a.id)]);
  const typed = el => [...el.querySelectorAll("select, input")].map(f => [f.className, f.value]);
  let loadingAlarms = null, againAlarms = false;
  async function loadDeskAlarms() {
    if (loadingAlarms) { againAlarms = true; return loadingAlarms; }
    loadingAlarms = (async () => {
      try {
        const open = await Youfu.api("GET", `${O}/alarms?open=true&limit=200`);
        const need = open.filter(a => a.state in URGENCY).sort((x, y) => URGENCY[x.state] - URGENCY[y.state]
          || new Date(y.raised_at) - new Date(x.raised_at));
        $("#alarm-desk-count").textContent = need.length ? `（${need.length} 起）` : "";
        const wanted = new Set(need.map(a => a.id));
        alarmList.querySelectorAll("article[data-id], p.empty").forEach(el => { if (!wanted.has(el.dataset.id)) el.remove(); });
        need.forEach((a, i) => {
          let el = [...alarmList.children].find(c => c.dataset.id === a.id);
          if (!el || el.dataset.sig !== signature(a)) {
            const fresh = alarmCard(a);
            fresh.dataset.sig = signature(a);
            if (el) {
              const kept = typed(el);
              fresh.querySelectorAll("select, input").forEach(f => {
                const was = kept.find(([cls]) => cls === f.className);
                if (was && (f.tagName === "INPUT" || [...f.options].some(o => o.value === was[1]))) f.value = was[1];
              });
              el.replaceWith(fresh);
            }
            el = fresh;
          } else el.querySelector(".since").textContent = since(a.raised_at);
          if (alarmList.children[i] !== el) alarmList.insertBefore(el, alarmList.children[i] || null);
        });
        if (!need.length) alarmList.innerHTML = `<p class="muted empty">目前没有需要坐席处理的紧急呼叫。</p>`;
        if ($("#alarm-desk-msg").classList.contains("error")) quiet("#alarm-desk-msg");
      } catch (err) {
        say("#alarm-desk-msg", "紧急呼叫暂时读不出来：" + explain(err));
      }
    })();
    try { await loadingAlarms; } finally { loadingAlarms = null; }
    if (againAlarms) { againAlarms = false; await loadDeskAlarms(); }
  }
  alarmList.addEventListener("click", async e => {
    const b = e.target.closest("button[data-act]");
    if (!b) return;
    const card = b.closest("article[data-id]"), { id, name } = card.dataset, act = b.dataset.act;
    if (act === "take") {
      taken.add(id); keepTaken();
      await Promise.all([loadDeskAlarms(), openElder(card.dataset.elder)]);
      $("#call-reason").value = "emergency"; $("#call-outcome").value = "dispatched";
      return;
    }
    b.disabled = true;
    try {
      if (act === "close") {
        const note = card.querySelector(".close-note").value.trim();
        const done = await Youfu.api("POST", `${O}/alarms/${encodeURIComponent(id)}/close`,
          { outcome: card.querySelector(".outcome").value, note: note || null });
        taken.delete(id); keepTaken();
        say("#alarm-desk-msg", `已结束${name}的紧急呼叫：${done.outcome_name}。`, "ok");
      } else {
        const order = await Youfu.api("POST", `${O}/alarms/${encodeURIComponent(id)}/orders`,
          { service_code: card.querySelector(".order-svc").value, payment: card.querySelector(".order-pay").value });
        say("#alarm-desk-msg", `已由${name}的紧急呼叫生成订单：${order.service_name}，${order.summary}。`, "ok");
      }
    } catch (err) {
      say("#alarm-desk-msg", (act === "close" ? "呼叫没有结束：" : "没有生成订单：") + explain(err));
      b.disabled = false;
    }
    await loadDeskAlarms();
    if (elder && elder.id === card.dataset.elder) await Promise.all([loadAlarms(), loadOrders()]);
  });

  // live notices (when the page has them, now or once the notices script has run): an alarm changed →
  // read the desk's alarms and the elder's on screen again; the 15-second poll is there whatever
  let hooked = false;
  function hookNotices() {
    if (hooked || !window.youfuNotices) return;
    hooked = true;
    ["alarm.raised", "alarm.acknowledged", "alarm.escalated", "alarm.closed"].forEach(kind =>
      window.youfuNotices.on(kind, () => { loadDeskAlarms(); if (elder) loadAlarms(); }));
  }
  hookNotices();
  window.addEventListener("load", hookNotices);
  setInterval(() => { loadDeskAlarms(); }, 15000);

  Promise.all([loadServices(), loadLog()]).then(loadDeskAlarms).finally(() => { document.body.dataset.loaded = "true"; });
})();
