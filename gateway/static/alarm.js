// One-key emergency alarms (issue 25), on three pages, each by its placeholder:
//  - #alarm-elder (elder page): the big red 紧急呼叫 button. Against pocket presses it needs a second
//    tap within 5 seconds (docs/decisions.md D56: a hold is hard for shaking hands and for screen
//    readers; two taps work with a finger, a keyboard and a switch alike). Then the alarm's state.
//  - #alarm-caregiver (provider page): the open alarms this caregiver was alerted to (or, for an
//    administrator, its caregivers were): read once when the page loads, and again live when the
//    notices script is on the page (window.youfuNotices.on("alarm.raised" / "alarm.acknowledged")).
//    "我去" (one caregiver wins; the others read who went), 已到达, and closing with an outcome.
//  - #alarm-report (bureau page): the month's alarms by district against the 3- and 30-minute targets.
(function () {
  "use strict";
  const O = "/api/orders";
  const esc = s => Youfu.esc(s);
  const time = iso => iso ? Youfu.localTime(iso).slice(-8, -3) : "";
  const mins = s => s == null ? "—" : (s < 60 ? `${s} 秒` : `${Math.floor(s / 60)} 分 ${s % 60} 秒`);
  const OUTCOMES = [["resolved_on_site", "现场已处置"], ["called_120", "已拨打 120"], ["false_alarm", "误报"]];
  const me = Youfu.me() || {};

  // ---- the elder's button ----
  function elderButton(box) {
    const ids = me.elder_ids && me.elder_ids.length ? me.elder_ids : (me.elder_id ? [me.elder_id] : []);
    if (!ids.length) return;
    box.hidden = false;
    box.classList.add("card", "alarm-card");
    box.setAttribute("aria-labelledby", "alarm-title");
    box.innerHTML = `<h2 id="alarm-title">紧急呼叫</h2>
      <p>摔倒、身体不舒服、遇到危险：按红色按钮，<strong>再按一次确认</strong>。附近的护理员马上赶来，家人会收到短信。</p>
      <button type="button" id="alarm-button" class="alarm-button" aria-describedby="alarm-hint">紧急呼叫</button>
      <p id="alarm-hint" class="muted">为防止误按，需要连按两次；也可以直接拨打 12349。</p>
      <div id="alarm-status" class="alarm-status" role="status" aria-live="assertive"></div>`;
    const button = box.querySelector("#alarm-button"), status = box.querySelector("#alarm-status");
    let armed = null, current = null;
    const elderId = () => { const saved = sessionStorage.getItem("yf.elder"); return ids.includes(saved) ? saved : ids[0]; };
    function disarm() { clearTimeout(armed); armed = null; button.textContent = "紧急呼叫"; button.classList.remove("armed"); }
    function show(a) {
      current = a;
      if (!a) { status.textContent = ""; return; }
      const who = a.acknowledged_by_name;
      status.innerHTML = a.state === "closed" ? `呼叫已结束：${esc(a.outcome_name || "")}`
        : a.arrived_at ? `<strong>${esc(who)}已到达。</strong>`
        : a.state === "acknowledged" ? `<strong>${esc(who)}正在赶来</strong>（${time(a.acknowledged_at)} 响应）。请保持电话畅通。`
        : a.state === "escalated" ? `<strong>已呼叫（${time(a.raised_at)}）</strong>，12349 坐席正在联系附近的人员，请稍候。`
        : `<strong>已呼叫（${time(a.raised_at)}）</strong>，已通知 ${a.alerted.length} 位附近的护理员，请稍候。`;
    }
    async function refresh() {
      try {
        const open = await Youfu.api("GET", `${O}/alarms?open=true&elder_id=${encodeURIComponent(elderId())}&limit=1`);
        show(open[0] || (current && current.state !== "closed" ? current : null));
      } catch { /* the button works whatever the list says */ }
    }
    button.addEventListener("click", async () => {
      if (!armed) {
        button.textContent = "再按一次，确认呼叫";
        button.classList.add("armed");
        status.textContent = "再按一次红色按钮确认呼叫；5 秒内不按就取消。";
        armed = setTimeout(() => { disarm(); status.textContent = "已取消，没有呼叫。"; }, 5000);
        return;
      }
      disarm();
      button.disabled = true;
      status.textContent = "正在呼叫……";
      try {
        show(await Youfu.api("POST", `${O}/elders/${encodeURIComponent(elderId())}/alarms`, {}));
      } catch (err) {
        status.textContent = `呼叫没有发出：${Youfu.explain(err)}。请立即拨打 12349 或 120。`;
      } finally { button.disabled = false; }
    });
    refresh();
    setInterval(() => { if (current && current.state !== "closed") refresh(); }, 15000);
    if (window.youfuNotices) ["alarm.acknowledged", "alarm.escalated", "alarm.closed"].forEach(k => window.youfuNotices.on(k, refresh));
  }

  // ---- the caregiver's (and the provider administrator's) open alarms ----
  function caregiverList(box) {
    box.classList.add("panel", "alarm-panel");
    box.setAttribute("aria-labelledby", "alarms-title");
    box.innerHTML = `<h3 id="alarms-title">紧急呼叫</h3>
      <p class="muted">附近老人按下紧急呼叫时，这里会列出；点“我去”后请立即出发，3 分钟内无人响应将转 12349 坐席。</p>
      <div id="alarms-msg" role="status" aria-live="polite"></div>
      <div id="alarm-list" class="alarm-list" aria-live="polite"></div>`;
    const list = box.querySelector("#alarm-list"), msg = box.querySelector("#alarms-msg");
    const caregiver = me.role === "caregiver";
    function card(a) {
      const mine = caregiver && a.acknowledged_by && a.acknowledged_by === me.caregiver_id;
      const open = a.state === "raised" || a.state === "escalated";
      const where = a.address ? esc(a.address) : (a.lat != null ? `${a.lat.toFixed(5)}, ${a.lon.toFixed(5)}` : "位置未知");
      const actions = [];
      if (caregiver && open) actions.push(`<button type="button" class="primary" data-act="acknowledge">我去</button>`);
      if (mine && !a.arrived_at) actions.push(`<button type="button" data-act="arrive">已到达</button>`);
      if (mine) {
        actions.push(`<label for="outcome-${a.id}">处置结果</label><select id="outcome-${a.id}" class="outcome">`
          + OUTCOMES.map(([v, t]) => `<option value="${v}">${t}</option>`).join("") + `</select>`
          + `<button type="button" data-act="close">结束呼叫</button>`);
      }
      return `<article class="alarm-item ${esc(a.state)}" data-id="${esc(a.id)}" aria-label="${esc(a.elder_name || "老人")}的紧急呼叫">
        <h4>${esc(a.elder_name || "老人")} · ${esc(a.state_name)}</h4>
        <p>${time(a.raised_at)} 呼叫（${esc(a.source_name)}）· ${where}</p>
        ${a.acknowledged_by_name ? `<p>已由${esc(a.acknowledged_by_name)}前往${a.arrived_at ? `，${time(a.arrived_at)} 到达` : ""}</p>` : ""}
        <p class="row-actions">${actions.join(" ")}</p></article>`;
    }
    async function load() {
      try {
        const open = await Youfu.api("GET", `${O}/alarms?open=true&limit=50`);
        list.innerHTML = open.length ? open.map(card).join("") : `<p class="muted">目前没有紧急呼叫。</p>`;
      } catch (err) { msg.textContent = Youfu.explain(err); }
    }
    list.addEventListener("click", async e => {
      const b = e.target.closest("button[data-act]");
      if (!b) return;
      const item = b.closest(".alarm-item"), id = item.dataset.id, act = b.dataset.act;
      const body = act === "close" ? { outcome: item.querySelector(".outcome").value } : undefined;
      b.disabled = true;
      try {
        await Youfu.api("POST", `${O}/alarms/${id}/${act}`, body);
        msg.textContent = act === "acknowledge" ? "已响应，请立即出发。" : act === "arrive" ? "已登记到达。" : "呼叫已结束。";
      } catch (err) { msg.textContent = Youfu.explain(err); }
      await load();
    });
    load();
    if (window.youfuNotices) ["alarm.raised", "alarm.acknowledged", "alarm.closed"].forEach(k => window.youfuNotices.on(k, load));
  }

  // ---- the bureau's month, by district ----
  function report(box) {
    box.classList.add("panel");
    box.setAttribute("aria-labelledby", "alarm-report-title");
    box.innerHTML = `<h3 id="alarm-report-title">紧急呼叫响应（<span class="alarm-month"></span>）</h3>
      <p class="muted">目标：3 分钟内有护理员响应，30 分钟内有人到达。</p>
      <div id="alarm-report-msg" role="status"></div><div id="alarm-report-table"></div>`;
    const monthInput = document.getElementById("month");
    async function load() {
      const month = (monthInput && monthInput.value) || Youfu.month();
      box.querySelector(".alarm-month").textContent = month;
      try {
        const r = await Youfu.api("GET", `${O}/alarms/report?month=${encodeURIComponent(month)}`);
        const pct = (n, d) => d ? `${n}（${Math.round(n * 100 / d)}%）` : "—";
        Youfu.table(box.querySelector("#alarm-report-table"), {
          caption: `${month} 紧急呼叫按辖区统计`, name: `紧急呼叫-${month}`, sheet: "紧急呼叫",
          columns: [
            { h: "辖区", v: d => d.district_name }, { h: "呼叫数", v: d => d.alarms }, { h: "升级到坐席", v: d => d.escalated },
            { h: "3 分钟内响应", v: d => pct(d.ack_within_target, d.alarms) }, { h: "响应时间中位数", v: d => mins(d.ack_median_s) },
            { h: "30 分钟内到达", v: d => pct(d.arrive_within_target, d.alarms) },
            { h: "到达时间中位数", v: d => mins(d.arrive_median_s) }, { h: "误报", v: d => d.outcomes.false_alarm },
          ],
          rows: r.districts,
          empty: "这个月没有紧急呼叫",
        });
      } catch (err) { box.querySelector("#alarm-report-msg").textContent = Youfu.explain(err); }
    }
    const form = document.getElementById("month-form");
    if (form) form.addEventListener("submit", () => setTimeout(load, 0));
    load();
  }

  const elder = document.getElementById("alarm-elder");
  if (elder) elderButton(elder);
  const cg = document.getElementById("alarm-caregiver");
  if (cg) caregiverList(cg);
  const rep = document.getElementById("alarm-report");
  if (rep) report(rep);
})();
