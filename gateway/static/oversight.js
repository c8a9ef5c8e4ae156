// The bureau's return visits (回访) and complaints: the month's figures by provider, the
// complaint tickets (overdue first) with their answers, the month's return-visit sample with a
// button per result, and the findings that hold a line out of settlement. Follows the
// dashboard's month (#month); apart from bureau.js so the two stay independent.
(() => {
  const V = "/api/vouchers";
  const $ = s => document.querySelector(s);
  const esc = s => Youfu.esc(s);
  const q = encodeURIComponent;
  const DISTRICTS = JSON.parse(document.getElementById("districts").textContent);
  const me = Youfu.me();
  if (!me || !["officer", "city_officer", "admin"].includes(me.role) || !Youfu.token()) return;
  const month = () => /^\d{4}-\d{2}$/.test($("#month").value) ? $("#month").value : Youfu.month();
  const pct = v => v == null ? "—" : `${(v * 100).toFixed(1)}%`;
  const short = id => String(id || "").slice(0, 8);
  const fail = (err, what) => Youfu.show("#oversight-msg", `${what}：${Youfu.explain(err)}`);
  const ok = text => { Youfu.show("#oversight-msg", text, "ok"); $("#oversight-msg").setAttribute("role", "status"); };
  const RESULTS = [["satisfied", "满意"], ["dissatisfied", "不满意"], ["not_delivered", "服务未发生"], ["unreachable", "联系不上"]];
  const cityWide = me.role !== "officer";
  if (cityWide) {
    $("#sample-district-box").hidden = false;
    $("#sample-district").innerHTML = Object.entries(DISTRICTS).map(([code, name]) => `<option value="${esc(code)}">${esc(name)}</option>`).join("");
  }
  const district = () => cityWide ? $("#sample-district").value : me.district_code;

  async function loadFigures() {
    let f;
    try { f = await Youfu.api("GET", `${V}/oversight-figures?month=${q(month())}`); } catch (err) { fail(err, "监管数据暂时读不出来"); return; }
    const whole = f.city || (f.districts[0] ? { return_visits: f.districts[0].return_visits, complaints: f.districts[0].complaints } : null);
    const c = whole ? whole.complaints : { filed: 0, open: 0, overdue: 0, median_hours_to_answer: null };
    const v = whole ? whole.return_visits : { coverage: null, failure_rate: null };
    $("#oversight-summary").innerHTML = [["投诉", c.filed], ["未办结", c.open], ["逾期", c.overdue],
      ["办理时长中位数", c.median_hours_to_answer == null ? "—" : `${c.median_hours_to_answer} 小时`],
      ["回访覆盖率", pct(v.coverage)], ["回访失败率", pct(v.failure_rate)]]
      .map(([k, x]) => `<div><dt>${esc(k)}</dt><dd>${esc(x)}</dd></div>`).join("");
    const rows = f.districts.flatMap(d => d.providers.map(p => ({ ...p, district_name: d.district_name })));
    Youfu.table("#oversight-providers", { caption: `${month()} 各服务商回访`, name: `回访-${month()}`, sheet: "回访",
      rows, empty: "这个月还没有完成的订单。",
      columns: [{ h: "区县", v: r => r.district_name }, { h: "服务商编号", v: r => short(r.provider_id) },
        { h: "完成订单", v: r => r.completed }, { h: "抽中", v: r => r.sampled }, { h: "已回访", v: r => r.called },
        { h: "联系上", v: r => r.reached }, { h: "服务未发生", v: r => r.not_delivered },
        { h: "覆盖率", v: r => pct(r.coverage) }, { h: "失败率", v: r => pct(r.failure_rate) }] });
  }

  let complaints = [];
  async function loadComplaints() {
    try { complaints = await Youfu.api("GET", `${V}/complaints`); } catch (err) { fail(err, "投诉暂时读不出来"); return; }
    Youfu.table("#complaints-body", { caption: "投诉工单", name: "投诉工单", sheet: "投诉", rows: complaints, empty: "没有投诉。",
      columns: [
        { h: "提交时间", v: c => Youfu.localTime(c.filed_at) }, { h: "区县", v: c => c.district_name },
        { h: "对象", v: c => c.subject_name }, { h: "内容", v: c => c.text, long: true },
        { h: "状态", v: c => c.overdue ? `${c.status_name}（已逾期）` : c.status_name },
        { h: "期限", v: c => Youfu.localTime(c.deadline) }, { h: "答复", v: c => c.answer || "", long: true },
        { h: "办理", noExport: true, html: c => ["open", "in_progress"].includes(c.status) && me.role !== "admin"
          ? (c.status === "open" ? `<button type="button" data-take="${esc(c.complaint_id)}" aria-label="受理 ${esc(Youfu.localTime(c.filed_at))} 的投诉">受理</button> ` : "")
            + `<button type="button" class="primary" data-answer="${esc(c.complaint_id)}" aria-label="答复 ${esc(Youfu.localTime(c.filed_at))} 的投诉">答复</button>` : "" },
      ] });
  }
  $("#complaints-body").addEventListener("click", async e => {
    const take = e.target.closest("button[data-take]"), answer = e.target.closest("button[data-answer]");
    if (take) {
      take.disabled = true;
      try { await Youfu.api("POST", `${V}/complaints/${take.dataset.take}/status`, { status: "in_progress" }); ok("已受理。"); await loadComplaints(); }
      catch (err) { take.disabled = false; fail(err, "没有受理成功"); }
    } else if (answer) {
      const c = complaints.find(x => x.complaint_id === answer.dataset.answer);
      const form = $("#complaint-answer");
      form.dataset.complaint = c.complaint_id;
      $("#complaint-answer-text").textContent = `投诉内容：${c.text}`;
      form.hidden = false;
      $("#complaint-answer-title").focus();
    }
  });
  $("#complaint-answer-cancel").addEventListener("click", () => { $("#complaint-answer").hidden = true; });
  $("#complaint-answer").addEventListener("click", async e => {
    const b = e.target.closest("button[data-close]");
    if (!b) return;
    const form = $("#complaint-answer");
    b.disabled = true;
    try {
      await Youfu.api("POST", `${V}/complaints/${form.dataset.complaint}/status`,
        { status: b.dataset.close, answer: $("#complaint-answer-input").value.trim() });
      form.hidden = true; $("#complaint-answer-input").value = "";
      ok("已答复，投诉人可以在自己的页面上看到。");
      await Promise.all([loadComplaints(), loadFigures()]);
    } catch (err) { fail(err, "没有答复成功"); }
    finally { b.disabled = false; }
  });

  function showSample(s) {
    Youfu.table("#visits-body", { caption: `${s.month} ${s.district_name} 回访样本（随机种子 ${s.seed}）`, name: `回访样本-${s.month}`,
      sheet: "回访样本", rows: s.visits, empty: "这个月没有完成的订单可抽。",
      columns: [{ h: "订单编号", v: v => short(v.order_id) }, { h: "服务商编号", v: v => short(v.provider_id) },
        { h: "服务项目", v: v => v.service_code }, { h: "完成时间", v: v => Youfu.localTime(v.completed_at) },
        { h: "回访结果", v: v => v.result_name }, { h: "备注", v: v => v.note || "", long: true },
        { h: "记录", noExport: true, html: v => v.result && v.result !== "unreachable" ? "" : RESULTS.map(([r, name]) =>
          `<button type="button" data-visit="${esc(v.visit_id)}" data-result="${r}" aria-label="订单 ${esc(short(v.order_id))} 回访结果：${name}">${name}</button>`).join(" ") }] });
  }
  async function loadSample() {
    if (!district()) return;
    try { showSample(await Youfu.api("GET", `${V}/return-visit-samples?month=${q(month())}&district_code=${q(district())}`)); }
    catch (err) { $("#visits-body").innerHTML = `<p class="muted">${err.status === 404 ? "这个月还没有抽取回访样本。" : esc(Youfu.explain(err))}</p>`; }
  }
  $("#sample-form").addEventListener("submit", async e => {
    e.preventDefault();
    const b = $("#draw-sample");
    b.disabled = true;
    try {
      const s = await Youfu.api("POST", `${V}/return-visit-samples`, { month: month(), district_code: district() },
        { idempotencyKey: `sample:${district()}:${month()}` });
      showSample(s); ok(`已抽取 ${s.visits.length} 单回访（共 ${s.population} 单完成订单）。`);
    } catch (err) { fail(err, "没有抽取成功"); }
    finally { b.disabled = false; }
  });
  $("#visits-body").addEventListener("click", async e => {
    const b = e.target.closest("button[data-visit]");
    if (!b) return;
    b.disabled = true;
    try {
      const v = await Youfu.api("POST", `${V}/return-visits/${b.dataset.visit}/result`,
        { result: b.dataset.result, note: $("#visit-note").value.trim() || null }, { idempotencyKey: Youfu.uuid() });
      ok(v.finding ? "已记录：服务未发生。该订单暂不计入结算，请核实后处理。" : `已记录回访结果：${v.result_name}。`);
      $("#visit-note").value = "";
      await Promise.all([loadSample(), loadFindings(), loadFigures()]);
    } catch (err) { b.disabled = false; fail(err, "没有记录成功"); }
  });

  async function loadFindings() {
    let list;
    try { list = await Youfu.api("GET", `${V}/service-findings`); } catch (err) { fail(err, "核实事项暂时读不出来"); return; }
    Youfu.table("#findings-body", { caption: "回访发现的核实事项", name: "核实事项", sheet: "核实事项", rows: list, empty: "没有待核实的事项。",
      columns: [{ h: "订单编号", v: f => short(f.order_id) }, { h: "服务商编号", v: f => short(f.provider_id) },
        { h: "状态", v: f => f.outcome_name || f.status_name }, { h: "备注", v: f => f.note || "", long: true },
        { h: "处理", noExport: true, html: f => f.status === "open" && me.role !== "admin"
          ? `<button type="button" data-finding="${esc(f.finding_id)}" data-outcome="cleared" aria-label="订单 ${esc(short(f.order_id))}：服务已发生，恢复结算">服务已发生</button>
             <button type="button" data-finding="${esc(f.finding_id)}" data-outcome="upheld" aria-label="订单 ${esc(short(f.order_id))}：服务未发生，冲正退回">确认未发生</button>` : "" }] });
  }
  $("#findings-body").addEventListener("click", async e => {
    const b = e.target.closest("button[data-finding]");
    if (!b) return;
    const resolution = $("#finding-resolution").value.trim();
    if (!resolution) { Youfu.show("#oversight-msg", "请先填写核实情况说明。"); $("#finding-resolution").focus(); return; }
    b.disabled = true;
    try {
      const f = await Youfu.api("POST", `${V}/service-findings/${b.dataset.finding}/resolve`, { outcome: b.dataset.outcome, resolution });
      ok(`已处理：${f.outcome_name}${f.carried_to_month ? `（原月份结算单已确认，计入 ${f.carried_to_month} 结算）` : ""}。`);
      $("#finding-resolution").value = "";
      await loadFindings();
    } catch (err) { b.disabled = false; fail(err, "没有处理成功"); }
  });

  const loadAll = () => Promise.all([loadFigures(), loadComplaints(), loadSample(), loadFindings()]);
  $("#month-form").addEventListener("submit", () => { setTimeout(loadAll, 0); });
  if (cityWide) $("#sample-district").addEventListener("change", loadSample);
  loadAll().then(() => document.body.setAttribute("data-oversight-loaded", "true"));
})();
