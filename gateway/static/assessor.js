// The assessor workbench: choose an elder, score the 26 items of GB/T 42195, see the grade live
// (the assessment service's score endpoint), save a draft, sign; a second assessor countersigns;
// then the elder's care plan: drafted from the grade's policy items, edited, submitted for consent.
(() => {
  const INSTRUMENT = "gb_t_42195_2022";
  const A = "/api/assessment";
  const REASONS = { initial: "首次评估", periodic: "定期复评", condition_changed: "状况变化复评" };
  const $ = s => document.querySelector(s);
  const me = Youfu.requireRole(["assessor"], "评估工作台");
  let lastHistory = null;
  let instrument = null, elder = null, current = null, mode = "edit", createKey = null, seq = 0, timer = null;

  function notice(sel, text, kind = "error") { Youfu.show(sel, text, kind); if (kind !== "error") $(sel).setAttribute("role", "status"); }
  function hide(sel) { $(sel).hidden = true; }

  // ---- choosing an elder ----
  function elderRows(list, title, empty) {
    if (!list.length) return `<p class="muted">${Youfu.esc(empty)}</p>`;
    return `<h4>${Youfu.esc(title)}</h4><ul class="elder-list">` + list.map(e => {
      const facts = [e.gender_name, e.age != null ? e.age + " 岁" : "", e.street || e.district_name,
        e.grade != null ? `现评定 ${e.grade} 级` : (e.why_name || "尚未评估")].filter(Boolean).join(" · ");
      const id = e.id || e.elder_id;
      return `<li><div><b>${Youfu.esc(e.name)}</b> <span class="muted">${Youfu.esc(facts)}</span>`
        + (e.id_card ? `<br><span class="muted">身份证 ${Youfu.esc(e.id_card)}</span>` : "")
        + `</div><button type="button" data-elder="${Youfu.esc(id)}" aria-label="评估 ${Youfu.esc(e.name)}">评估</button></li>`;
    }).join("") + "</ul>";
  }
  let listed = {};
  function showList(list, title, empty) {
    list.forEach(e => { listed[e.id || e.elder_id] = e; });
    $("#elder-list").innerHTML = elderRows(list, title, empty);
    $("#elder-list").querySelectorAll("button[data-elder]").forEach(b =>
      b.addEventListener("click", () => chooseElder(b.dataset.elder)));
  }
  async function loadDue() {
    try {
      const due = await Youfu.api("GET", `${A}/reassessments-due?page_size=20`);
      showList(due.items, `待评估和到期复评的老人（共 ${due.total} 位）`, "目前没有待评估的老人。可以在上面按姓名查找。");
    } catch (err) { notice("#find-msg", "待评估名单暂时无法加载：" + Youfu.explain(err) + "。仍可按姓名查找。"); }
  }
  $("#find-form").addEventListener("submit", async e => {
    e.preventDefault(); hide("#find-msg");
    const q = $("#find-q").value.trim();
    if (!q) return loadDue();
    try {
      const page = await Youfu.api("GET", `${A}/elders?page_size=20&q=${encodeURIComponent(q)}`);
      showList(page.items, `找到 ${page.total} 位老人`, "没有找到。请核对姓名或证件号；只能查到本辖区的老人。");
    } catch (err) { notice("#find-msg", "查找没有成功：" + Youfu.explain(err)); }
  });

  async function chooseElder(id) {
    elder = listed[id];
    $("#elder-name").textContent = elder.name;
    $("#elder-facts").textContent = [elder.gender_name, elder.age != null ? elder.age + " 岁" : "",
      elder.district_name, elder.street, elder.living_situation_name, elder.economic_status_name].filter(Boolean).join(" · ");
    $("#work").hidden = false; hide("#form-msg");
    const history = await loadHistory();
    if (history === null) return;
    providerOptions.clear(); planKey = null;
    loadPlans();
    const open = history.find(a => a.state === "draft" || a.state === "signed");
    startWith(open || null);
    $("#work").scrollIntoView({ behavior: "instant", block: "start" });
  }

  // ---- the form ----
  function renderItems() {
    let n = 0;
    $("#items").innerHTML = instrument.dimensions.map(d => `<section class="dimension" aria-labelledby="dim-${d.code}">
      <h4 id="dim-${d.code}">${Youfu.esc(d.name)} <span class="muted">满分 ${d.max}</span>
        <span class="dim-score" id="dimscore-${d.code}"></span></h4>` + instrument.items.filter(i => i.dimension === d.code).map(i => {
      n += 1;
      const top = Math.max(...i.scores.map(s => s.score));
      return `<fieldset class="item" id="item-${i.code}"${i.description ? ` aria-describedby="desc-${i.code}"` : ""}>
        <legend><span class="no">${n}.</span> ${Youfu.esc(i.name)} <span class="muted">（0–${top} 分）</span></legend>
        ${i.description ? `<p class="muted desc" id="desc-${i.code}">${Youfu.esc(i.description)}</p>` : ""}
        <div class="options">` + i.scores.map(s => `<label class="option"><input type="radio" name="item-${i.code}" value="${s.score}">
          <span><b>${s.score} 分</b> ${Youfu.esc(s.wording)}</span></label>`).join("") + `</div></fieldset>`;
    }).join("") + "</section>").join("");
  }
  function readForm() {
    const items = {};
    for (const i of instrument.items) {
      const picked = document.querySelector(`input[name="item-${i.code}"]:checked`);
      if (picked) items[i.code] = Number(picked.value);
    }
    const risk = [];
    document.querySelectorAll("[data-event]").forEach(inp => {
      const n = Math.max(0, Math.min(30, parseInt(inp.value, 10) || 0));
      for (let k = 0; k < n; k++) risk.push(inp.dataset.event);
    });
    return { items, coma: $("#coma").checked, risk_events_30d: risk, note: $("#note").value.trim(),
      diagnoses: $("#diagnoses").value.split(/[\s,，、;；]+/).map(s => s.trim().toUpperCase()).filter(Boolean) };
  }
  function fillForm(a) {
    document.querySelectorAll("#items input[type=radio]").forEach(r => { r.checked = false; });
    for (const [code, score] of Object.entries((a && a.items) || {})) {
      const r = document.querySelector(`input[name="item-${code}"][value="${score}"]`);
      if (r) r.checked = true;
    }
    $("#coma").checked = !!(a && a.coma);
    $("#diagnoses").value = ((a && a.diagnoses) || []).join(" ");
    document.querySelectorAll("[data-event]").forEach(inp => {
      inp.value = ((a && a.risk_events_30d) || []).filter(e => e === inp.dataset.event).length;
    });
    $("#note").value = (a && a.note) || "";
    $("#reason").value = a && a.reason === "condition_changed" ? "condition_changed" : "";
  }
  function setMode(m) {
    mode = m;
    const editable = m === "edit";
    document.querySelectorAll("#assess-form input, #assess-form select, #assess-form textarea").forEach(x => { x.disabled = !editable; });
    $("#reason").disabled = !editable || !!current;
    $("#save-draft").hidden = $("#sign").hidden = !editable;
    $("#countersign").hidden = m !== "countersign";
    $("#new-assessment").hidden = m !== "final";
  }
  function startWith(a) {
    current = a; createKey = Youfu.uuid(); hide("#form-msg");
    fillForm(a);
    const line = $("#state-line");
    if (!a) {
      setMode("edit"); line.hidden = true;
    } else if (a.state === "draft") {
      setMode("edit");
      notice("#state-line", `继续填写 ${Youfu.localTime(a.updated_at)} 保存的草稿（${REASONS[a.reason] || ""}）。`, "ok");
    } else if (a.state === "signed" && a.first_assessor_id === me.id) {
      setMode("waiting");
      notice("#state-line", `您已于 ${Youfu.localTime(a.first_signed_at)} 签名。请另一位评估员登录本工作台，核对后签名定稿。`, "ok");
    } else if (a.state === "signed") {
      setMode("countersign");
      notice("#state-line", `另一位评估员已于 ${Youfu.localTime(a.first_signed_at)} 签名。请逐项核对评分，无误后点“复核无误，签名定稿”；`
        + "如有不同意见，请先与第一位评估员沟通。", "ok");
    } else {
      setMode("final");
      notice("#state-line", `评估已定稿：${a.result ? `${a.result.grade} 级 · ${a.result.grade_name}` : ""}，`
        + `有效期至 ${a.valid_until || "—"}。需要重新评估时请点“新建复评”。`, "ok");
    }
    refresh(true);
  }

  // ---- live result ----
  function refresh(now = false) {
    const f = readForm();
    const missing = instrument.items.filter(i => !(i.code in f.items));
    for (const d of instrument.dimensions) {
      const its = instrument.items.filter(i => i.dimension === d.code);
      const done = its.filter(i => i.code in f.items);
      const sum = done.reduce((s, i) => s + f.items[i.code], 0);
      $(`#dimscore-${d.code}`).textContent = done.length === its.length ? `${sum} 分` : `已评 ${done.length}/${its.length} 项`;
    }
    document.querySelectorAll("fieldset.item").forEach(fs => fs.classList.remove("missing"));
    clearTimeout(timer);
    if (missing.length) {
      seq += 1; // a pending answer for an older, complete form must not overwrite this
      const scored = Object.values(f.items).reduce((s, v) => s + v, 0);
      $("#live-total").textContent = `已评 ${instrument.items.length - missing.length} / ${instrument.items.length} 项，已得 ${scored} 分`;
      $("#live-grade").textContent = "等级：评完全部条目后显示";
      $("#live-dims").innerHTML = ""; $("#live-adjust").innerHTML = ""; $("#live-plan").textContent = "";
      $("#live-note").textContent = `还差 ${missing.length} 项：${missing.slice(0, 6).map(i => i.name).join("、")}${missing.length > 6 ? "……" : ""}`;
      return;
    }
    timer = setTimeout(score, now ? 0 : 300);
  }
  async function score() {
    const mine = ++seq, f = readForm();
    $("#live").setAttribute("aria-busy", "true");
    try {
      const r = await Youfu.api("POST", `${A}/instruments/${INSTRUMENT}/score`,
        { items: f.items, coma: f.coma, diagnoses: f.diagnoses, risk_events_30d: f.risk_events_30d });
      if (mine !== seq) return;
      $("#live-total").textContent = `总分 ${r.total} / ${r.max_total}`;
      $("#live-grade").textContent = `等级：${r.grade} 级 · ${r.grade_name}`;
      $("#live-dims").innerHTML = r.dimensions.map(d => `<li>${Youfu.esc(d.name)}：<b>${d.score}</b> / ${d.max}</li>`).join("");
      for (const d of r.dimensions) $(`#dimscore-${d.code}`).textContent = `${d.score} 分`;
      $("#live-adjust").innerHTML = r.adjustments.length
        ? `<li>按总分初定 ${r.initial_grade} 级（${Youfu.esc(r.initial_grade_name)}）</li>`
          + r.adjustments.map(a => `<li>${Youfu.esc(a.reason)}</li>`).join("") : "";
      const plan = r.care_plan;
      $("#live-note").textContent = "";
      $("#live-plan").textContent = plan ? `建议照护：每周上门 ${plan.visits_per_week} 次、约 ${plan.hours_per_week} 小时；${plan.services.join("、")}。${plan.note || ""}` : "";
    } catch (err) {
      if (mine !== seq) return;
      $("#live-grade").textContent = "等级：暂时算不出"; $("#live-plan").textContent = "";
      $("#live-note").textContent = Youfu.explain(err) + (err.status === 422 ? "。请按提示修改。" : "");
    } finally { if (mine === seq) $("#live").removeAttribute("aria-busy"); }
  }
  $("#assess-form").addEventListener("change", () => refresh());
  $("#assess-form").addEventListener("input", e => { if (e.target.matches("#diagnoses, [data-event]")) refresh(); });

  // ---- save, sign, countersign ----
  async function save() {
    const f = readForm();
    if (!current) {
      const body = { instrument: INSTRUMENT, ...f };
      if ($("#reason").value) body.reason = $("#reason").value;
      current = await Youfu.api("POST", `${A}/elders/${elder.id || elder.elder_id}/assessments`, body, { idempotencyKey: createKey });
    } else {
      current = await Youfu.api("PUT", `${A}/assessments/${current.id}`, f);
    }
    $("#reason").disabled = true;
    return current;
  }
  function failed(err) {
    if (err.status === 409 && err.problem && err.problem.assessment_id) {
      notice("#form-msg", Youfu.explain(err) + "。页面已刷新为最新状态。");
      return chooseElder(elder.id || elder.elder_id).then(() => notice("#form-msg", Youfu.explain(err) + "。页面已刷新为最新状态。"));
    }
    notice("#form-msg", Youfu.explain(err));
  }
  $("#save-draft").addEventListener("click", async () => {
    hide("#form-msg");
    try { await save(); notice("#form-msg", `草稿已保存（${Youfu.localTime(current.updated_at)}）。可以稍后继续填写。`, "ok"); await loadHistory(); }
    catch (err) { failed(err); }
  });
  $("#sign").addEventListener("click", async () => {
    hide("#form-msg");
    const f = readForm(), missing = instrument.items.filter(i => !(i.code in f.items));
    if (missing.length) {
      missing.forEach(i => $(`#item-${i.code}`).classList.add("missing"));
      notice("#form-msg", `还有 ${missing.length} 项没有评分：${missing.map(i => i.name).join("、")}。每一项都要评分后才能签名。`);
      $(`#item-${missing[0].code}`).scrollIntoView({ block: "center" });
      return;
    }
    try {
      await save();
      const signed = await Youfu.api("POST", `${A}/assessments/${current.id}/sign`);
      startWith(signed);
      notice("#form-msg", "签名成功。还需要另一位评估员复核签名，评估才会定稿。", "ok");
      await loadHistory();
    } catch (err) { failed(err); }
  });
  $("#countersign").addEventListener("click", async () => {
    hide("#form-msg");
    try {
      const done = await Youfu.api("POST", `${A}/assessments/${current.id}/sign`);
      startWith(done);
      notice("#form-msg", `评估已定稿：${done.result.grade} 级 · ${done.result.grade_name}。结果已通知养老服务券系统。`, "ok");
      await loadHistory();
      await loadPlans();
    } catch (err) { failed(err); }
  });
  $("#new-assessment").addEventListener("click", () => {
    startWith(null);
    notice("#state-line", "新建复评：请重新逐项评分。", "ok");
  });

  // ---- history ----
  async function loadHistory() {
    try {
      const list = await Youfu.api("GET", `${A}/elders/${elder.id || elder.elder_id}/assessments`);
      lastHistory = list;
      const who = id => !id ? "—" : id === me.id ? "本人" : "另一位评估员";
      Youfu.table("#history", {
        caption: `${elder.name} 的评估记录`, name: `评估记录-${elder.name}`, sheet: "评估记录", rows: list,
        empty: "还没有评估记录。",
        columns: [
          { h: "建立时间", v: a => Youfu.localTime(a.created_at) },
          { h: "评估原因", v: a => REASONS[a.reason] || a.reason },
          { h: "状态", v: a => a.state_name },
          { h: "总分", v: a => a.result ? a.result.total : "" },
          { h: "等级", v: a => a.result ? `${a.result.grade} 级 ${a.result.grade_name}` : "" },
          { h: "第一签名", v: a => who(a.first_assessor_id) },
          { h: "复核签名", v: a => who(a.second_assessor_id) },
          { h: "定稿时间", v: a => Youfu.localTime(a.finalised_at) },
          { h: "有效期至", v: a => a.valid_until || "" },
        ],
      });
      return list;
    } catch (err) { notice("#form-msg", "评估记录暂时无法加载：" + Youfu.explain(err)); return null; }
  }

  // ---- the care plan: drafted from the grade's policy items after a finalised assessment, edited
  // (frequency, duration, provider among the nearest qualified ones), submitted for the elder's consent ----
  const P = "/api/providers";
  const FREQ_TYPES = { weekly: "每周固定几天", per_week: "每周几次", per_month: "每月几次" };
  let catalogue = [], plans = [], draftPlan = null, planKey = null, planItems = [];
  const providerOptions = new Map(); // service code → [{id, name, distance}] for this elder
  const serviceName = code => (catalogue.find(i => i.code === code) || {}).name || code;
  const elderId = () => elder.id || elder.elder_id;
  async function optionsFor(code) {
    const key = `${elderId()}|${code}`;
    if (!providerOptions.has(key)) {
      try {
        const answer = Youfu.rows(await Youfu.api("GET", `${A}/elders/${elderId()}/care-plans/provider-options?service_code=${encodeURIComponent(code)}`));
        providerOptions.set(key, answer.map(o => ({ id: o.provider_id, name: o.provider_name || `服务商（编号 ${String(o.provider_id).slice(0, 8)}）`,
          distance: o.distance_m, price: o.price_fen })));
      } catch { providerOptions.set(key, []); }
    }
    return providerOptions.get(key);
  }
  function optionText(o) {
    return [o.name, o.distance != null ? `约 ${(o.distance / 1000).toFixed(1)} 公里` : "", o.price != null ? `${Youfu.yuan(o.price)} 元/次` : ""]
      .filter(Boolean).join("，");
  }
  function itemHtml(it, k, options) {
    const f = it.frequency || { type: "weekly", weekdays: [1], time: "09:00" };
    const id = s => `pi-${k}-${s}`;
    const opts = options.some(o => o.id === it.provider_id) || !it.provider_id ? options
      : [{ id: it.provider_id, name: it.provider_name || "已选服务商" }, ...options];
    return `<fieldset class="plan-item card" data-k="${k}"><legend>第 ${k + 1} 项：${Youfu.esc(serviceName(it.service_code))}</legend>
      <div class="inline">
        <div><label for="${id("service")}">服务项目</label><select id="${id("service")}" data-f="service_code">`
      + catalogue.filter(i => i.unit !== "per_month").map(i => `<option value="${Youfu.esc(i.code)}"${i.code === it.service_code ? " selected" : ""}>${Youfu.esc(i.name)}</option>`).join("")
      + `</select></div>
        <div><label for="${id("type")}">频次</label><select id="${id("type")}" data-f="type">`
      + Object.entries(FREQ_TYPES).map(([v, t]) => `<option value="${v}"${v === f.type ? " selected" : ""}>${t}</option>`).join("")
      + `</select></div>
        <div data-show="count"${f.type === "weekly" ? " hidden" : ""}><label for="${id("count")}">次数</label>
          <input id="${id("count")}" data-f="count" type="number" inputmode="numeric" min="1" max="28" value="${f.count || 1}"></div>
        <div><label for="${id("time")}">上门时间</label><input id="${id("time")}" data-f="time" type="time" value="${Youfu.esc(f.time || "09:00")}"></div>
        <div><label for="${id("duration")}">每次时长（分钟）</label>
          <input id="${id("duration")}" data-f="duration_min" type="number" inputmode="numeric" min="15" max="480" step="15" value="${it.duration_min || 60}"></div>
        <div><label for="${id("voucher")}">支付方式</label><select id="${id("voucher")}" data-f="voucher_kind">`
      + Object.entries(Youfu.PLAN_VOUCHERS).map(([v, t]) => `<option value="${v}"${v === (it.voucher_kind || "community") ? " selected" : ""}>${t}</option>`).join("")
      + `</select></div>
        <div><label for="${id("provider")}">服务商（按距离排序）</label><select id="${id("provider")}" data-f="provider_id">`
      + (opts.length ? opts.map(o => `<option value="${Youfu.esc(o.id)}"${o.id === it.provider_id ? " selected" : ""}>${Youfu.esc(optionText(o))}</option>`).join("")
        : `<option value="">附近没有提供这项服务的服务商</option>`)
      + `</select></div>
      </div>
      <fieldset class="weekdays" data-show="weekdays"${f.type === "weekly" ? "" : " hidden"}><legend>每周哪几天</legend><div class="inline">`
      + Youfu.WEEKDAYS.map((w, d) => `<label class="check"><input type="checkbox" data-weekday="${d + 1}"${(f.weekdays || []).includes(d + 1) ? " checked" : ""}> ${w}</label>`).join("")
      + `</div></fieldset>
      <p><button type="button" data-remove="${k}" aria-label="删除这一项（第 ${k + 1} 项 ${Youfu.esc(serviceName(it.service_code))}）">删除这一项</button></p></fieldset>`;
  }
  async function renderPlanItems() {
    const options = await Promise.all(planItems.map(it => optionsFor(it.service_code)));
    planItems.forEach((it, k) => { if (!it.provider_id && options[k].length) it.provider_id = options[k][0].id; });
    $("#plan-items").innerHTML = planItems.length ? planItems.map((it, k) => itemHtml(it, k, options[k])).join("")
      : `<p class="muted">计划里还没有服务项目，请点“添加一项服务”。</p>`;
  }
  function readPlanItems() {
    return [...document.querySelectorAll("#plan-items fieldset.plan-item")].map(fs => {
      const v = f => fs.querySelector(`[data-f="${f}"]`).value;
      const type = v("type"), time = v("time") || "09:00";
      const frequency = type === "weekly"
        ? { type, weekdays: [...fs.querySelectorAll("[data-weekday]:checked")].map(x => Number(x.dataset.weekday)), time }
        : { type, count: parseInt(v("count"), 10) || 1, time };
      const item = { service_code: v("service_code"), provider_id: v("provider_id") || null, frequency,
        duration_min: parseInt(v("duration_min"), 10) || 60, voucher_kind: v("voucher_kind") };
      return item;
    });
  }
  $("#plan-items").addEventListener("change", async e => {
    const fs = e.target.closest("fieldset.plan-item");
    if (!fs) return;
    if (e.target.dataset.f === "type") {
      fs.querySelector('[data-show="count"]').hidden = e.target.value === "weekly";
      fs.querySelector('[data-show="weekdays"]').hidden = e.target.value !== "weekly";
    }
    if (e.target.dataset.f === "service_code") { // another service: its own providers
      planItems = readPlanItems();
      planItems[Number(fs.dataset.k)].provider_id = null;
      await renderPlanItems();
      document.getElementById(`pi-${fs.dataset.k}-service`).focus();
    }
  });
  $("#plan-items").addEventListener("click", async e => {
    const b = e.target.closest("button[data-remove]");
    if (!b) return;
    planItems = readPlanItems();
    planItems.splice(Number(b.dataset.remove), 1);
    await renderPlanItems();
    $("#plan-add-item").focus();
  });
  $("#plan-add-item").addEventListener("click", async () => {
    planItems = readPlanItems();
    const used = new Set(planItems.map(i => i.service_code));
    const next = catalogue.find(i => i.unit !== "per_month" && !used.has(i.code)) || catalogue[0];
    planItems.push({ service_code: next.code, provider_id: null, frequency: { type: "per_week", count: 1, time: "09:00" },
      duration_min: 60, voucher_kind: next.voucher_kinds && next.voucher_kinds.includes("community") ? "community" : "self_pay" });
    await renderPlanItems();
    document.getElementById(`pi-${planItems.length - 1}-service`).focus();
  });
  const planLine = p => (p.items || []).map(i => `${serviceName(i.service_code)} ${i.frequency_zh || Youfu.frequencyText(i.frequency)}`).join("；");
  async function loadPlans() {
    if (!catalogue.length) { try { catalogue = await Youfu.api("GET", `${P}/service-items`); } catch { catalogue = []; } }
    try { plans = Youfu.rows(await Youfu.api("GET", `${A}/elders/${elderId()}/care-plans`)); }
    catch (err) { plans = []; notice("#plan-msg", "护理计划暂时无法加载：" + Youfu.explain(err)); }
    draftPlan = plans.find(p => p.state === "draft") || null;
    const waiting = plans.find(p => p.state === "awaiting_consent"), live = plans.find(p => p.state === "active" || p.state === "to_review");
    const finalised = (lastHistory || []).some(a => a.state === "finalised");
    const lines = [];
    if (!finalised) lines.push("这位老人还没有定稿的评估：评估定稿后才能起草护理计划。");
    if (live) lines.push(`正在执行第 ${live.version} 版计划（${Youfu.PLAN_STATES[live.state]}）：${planLine(live)}。`);
    if (waiting) lines.push(`第 ${waiting.version} 版计划已提交，等老人或家属确认。${Youfu.budgetText(waiting.budget)}。`);
    $("#plan-state").innerHTML = lines.map(l => `<p>${Youfu.esc(l)}</p>`).join("");
    $("#plan-draft").hidden = !finalised || !!draftPlan;
    $("#plan-form").hidden = !draftPlan;
    if (draftPlan) {
      $("#plan-form-title").textContent = `第 ${draftPlan.version} 版计划草稿（${draftPlan.grade ?? ""} 级）`;
      $("#plan-start").value = draftPlan.start_date || "";
      $("#plan-review").textContent = draftPlan.review_date ? `复评日期：${draftPlan.review_date}（评估有效期届满，到时需重新评估）` : "";
      planItems = (draftPlan.items || []).map(i => ({ ...i }));
      await renderPlanItems();
    }
    Youfu.table("#plan-history", {
      caption: `${elder.name} 的护理计划`, name: `护理计划-${elder.name}`, sheet: "护理计划", rows: plans, empty: "还没有护理计划。",
      columns: [
        { h: "版本", v: p => `第 ${p.version} 版` },
        { h: "状态", v: p => p.state_name || Youfu.PLAN_STATES[p.state] || p.state },
        { h: "开始日期", v: p => p.start_date || "" },
        { h: "复评日期", v: p => p.review_date || "" },
        { h: "服务安排", v: planLine, long: true },
        { h: "每月费用", v: p => p.budget ? Youfu.budgetText(p.budget) : "", long: true },
      ],
    });
  }
  $("#plan-draft").addEventListener("click", async () => {
    hide("#plan-msg");
    planKey = planKey || Youfu.uuid();
    try {
      await Youfu.api("POST", `${A}/elders/${elderId()}/care-plans`, {}, { idempotencyKey: planKey });
      planKey = null;
      await loadPlans();
      notice("#plan-msg", "已按等级的政策默认项目起草。请为每项服务确认频次和服务商，保存后提交老人确认。", "ok");
      $("#plan-form-title").scrollIntoView({ block: "start" });
    } catch (err) { notice("#plan-msg", "没有起草成功：" + Youfu.explain(err)); }
  });
  async function savePlan() {
    const body = { items: readPlanItems() };
    if ($("#plan-start").value) body.start_date = $("#plan-start").value;
    draftPlan = await Youfu.api("PUT", `${A}/care-plans/${draftPlan.plan_id}`, body);
    return draftPlan;
  }
  $("#plan-save").addEventListener("click", async () => {
    hide("#plan-msg");
    try { await savePlan(); await loadPlans(); notice("#plan-msg", "计划草稿已保存。", "ok"); }
    catch (err) { notice("#plan-msg", "没有保存成功：" + Youfu.explain(err)); }
  });
  $("#plan-submit").addEventListener("click", async () => {
    hide("#plan-msg");
    try {
      await savePlan();
      const sent = await Youfu.api("POST", `${A}/care-plans/${draftPlan.plan_id}/submit`);
      await loadPlans();
      notice("#plan-msg", `已提交老人确认。${Youfu.budgetText(sent.budget)}${sent.budget && sent.budget.over_budget ? "（超出代金券额度，需老人同意自付）" : ""}。`, "ok");
    } catch (err) { notice("#plan-msg", "没有提交成功：" + Youfu.explain(err)); }
  });

  async function init() {
    if (!me) { $("#finder").hidden = true; return; }
    try { instrument = await Youfu.api("GET", `${A}/instruments/${INSTRUMENT}`); }
    catch (err) { notice("#find-msg", "评估量表暂时无法加载：" + Youfu.explain(err) + "。请刷新页面再试。"); return; }
    renderItems();
    await loadDue();
  }
  init();
})();
