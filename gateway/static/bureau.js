// The civil-affairs dashboard: spend charts, issuance, provider review, expiring documents, lists
// from other bureaus (city officers: upload, dry run, apply), audit findings, settlements, visit coverage, care plans
// (planned against delivered, plans to review) and home beds. The token decides the district; each panel loads on
// its own, so one service being down leaves the others working.
(() => {
  const V = "/api/vouchers", P = "/api/providers", O = "/api/orders";
  const $ = s => document.querySelector(s);
  // code → name, rendered into the page by the server from shared/city.py (the one copy)
  const DISTRICTS = JSON.parse(document.getElementById("districts").textContent);
  const SETTLEMENT_STATUS = { draft: "草稿", confirmed: "已确认", paid: "已付款" };
  const FINDING_STATUS = { open: "待处理", dismissed: "已驳回", actioned: "已处理" };
  const RECOVERY_RULE = "service_after_departure"; // 老人已故或迁出后仍有消费: its amount is to be recovered (追缴)
  const TRIGGERS = { manual: "手动", scheduled: "每月自动", mid_month: "月中补发", event: "认定后补发" };
  const me = Youfu.requireRole(["officer", "city_officer", "admin"], "民政监管看板");
  const city = me && me.role !== "officer";
  let month = Youfu.month();

  let serviceNames = null; // the providers service's standard catalogue: code → 助餐 …
  const money = fen => (Number(fen || 0) / 100).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const short = id => id ? String(id).slice(0, 8) : "—";
  const q = encodeURIComponent;

  const fail = Youfu.failPanel, panel = Youfu.panel;
  function done(sel, text) { Youfu.show(sel, text, "ok"); $(sel).setAttribute("role", "status"); }

  // Horizontal bars, one row per item, label and amount above each bar: readable on a phone too.
  function barChart(box, titleId, items) {
    const el = $(box);
    if (!items.length) { el.innerHTML = `<p class="muted">这个月还没有券支付记录。</p>`; return; }
    const max = Math.max(...items.map(i => i.value), 1), row = 58;
    el.innerHTML = `<svg role="img" aria-labelledby="${titleId}" width="100%" height="${items.length * row}" class="bars">`
      + items.map((it, k) => {
        const w = Math.max(0.5, (it.value / max) * 100);
        return `<text x="0" y="${k * row + 20}">${Youfu.esc(it.label)}　${money(it.value)} 元</text>`
          + `<rect x="0" y="${k * row + 28}" height="20" width="${w}%" rx="3"><title>${Youfu.esc(it.label)} ${money(it.value)} 元</title></rect>`;
      }).join("") + "</svg>";
  }
  const REPORT_COLUMNS = [
    { h: "服务笔数", v: r => r.redemption_count },
    { h: "订单金额（元）", v: r => r.order_amount_fen, money: true },
    { h: "券支付金额（元）", v: r => r.voucher_fen, money: true },
    { h: "老人自付金额（元）", v: r => r.elder_fen, money: true },
    { h: "冲正金额（元）", v: r => r.reversed_fen, money: true },
    { h: "券支付净额（元）", v: r => r.net_fen, money: true },
  ];
  const report = (group, m = month) => Youfu.api("GET", `${V}/reports/spend?month=${q(m)}&group_by=${group}`);
  function reportTable(box, group, caption, rep, label) {
    const rows = [...rep.rows.map(r => ({ ...r, name: label(r) })), { name: "合计", ...rep.totals }];
    Youfu.table(box, { caption, name: `代金券消费-${month}-${caption}`, rows,
      columns: [{ h: caption.replace(/^按/, ""), v: r => r.name }, ...REPORT_COLUMNS],
      exportPath: fmt => `${V}/reports/spend?month=${q(month)}&group_by=${group}&format=${fmt}` });
  }
  function monthsBack(m, n) {
    let [y, mo] = m.split("-").map(Number);
    const out = [];
    for (let k = 0; k < n; k++) { out.unshift(`${y}-${String(mo).padStart(2, "0")}`); mo -= 1; if (!mo) { mo = 12; y -= 1; } }
    return out;
  }

  async function loadSpend() {
    const months = monthsBack(month, 12);
    const [monthly, rep, bySvc, byDistrict] = await Promise.all([
      Youfu.api("GET", `${V}/reports/spend/monthly?from_month=${months[0]}&to_month=${q(month)}`),
      report("kind"), report("service"), city ? report("district") : null]);
    const t = rep.totals;
    $("#spend-summary").innerHTML = [["服务笔数", `${t.redemption_count} 笔`], ["券支付净额", `${money(t.net_fen)} 元`],
      ["订单金额", `${money(t.order_amount_fen)} 元`], ["老人自付", `${money(t.elder_fen)} 元`], ["冲正", `${money(t.reversed_fen)} 元`]]
      .map(([k, v]) => `<div><dt>${k}</dt><dd>${v}</dd></div>`).join("");
    const net = Object.fromEntries(months.map(m => [m, 0]));
    for (const r of monthly.rows) if (r.month in net) net[r.month] += r.net_fen;
    barChart("#chart-month", "chart-month-title", months.map(m => ({ label: m, value: net[m] })));
    const range = `${months[0]}至${month}`;
    Youfu.table("#table-month", { caption: "分月明细（月份 × 区县 × 券种）", name: `代金券消费分月统计-${range}`, sheet: range,
      rows: [...monthly.rows, { month: "合计", ...monthly.totals }], empty: "这段时间没有券支付记录。",
      columns: [{ h: "月份", v: r => r.month }, { h: "区县", v: r => r.district_name || "" }, { h: "券种", v: r => r.kind_name || "" },
        ...REPORT_COLUMNS],
      exportPath: fmt => `${V}/reports/spend/monthly?from_month=${months[0]}&to_month=${q(month)}&format=${fmt}` });
    barChart("#chart-kind", "chart-kind-title", rep.rows.map(r => ({ label: r.name, value: r.net_fen })));
    reportTable("#table-kind", "kind", "按券种", rep, r => r.name);
    if (!serviceNames) {
      try { serviceNames = Object.fromEntries((await Youfu.api("GET", `${P}/service-items`)).map(i => [i.code, i.name])); }
      catch { serviceNames = null; } // names fall back to the codes; the figures are unaffected
    }
    const svc = r => (serviceNames && serviceNames[r.key]) || r.name;
    barChart("#chart-service", "chart-service-title", bySvc.rows.map(r => ({ label: svc(r), value: r.net_fen })));
    reportTable("#table-service", "service", "按服务项目", bySvc, svc);
    $("#district-block").hidden = !byDistrict;
    if (byDistrict) {
      barChart("#chart-district", "chart-district-title", byDistrict.rows.map(r => ({ label: r.name, value: r.net_fen })));
      reportTable("#table-district", "district", "按区县", byDistrict, r => r.name);
    }
  }

  // ---- issuance ----
  async function loadIssuance() {
    const runs = await Youfu.api("GET", `${V}/issuance-runs?month=${q(month)}`);
    Youfu.table("#issuance-runs", { caption: `${month} 发放记录`, name: `代金券发放记录-${month}`, sheet: "发放记录", rows: runs,
      empty: "这个月还没有发放记录。",
      columns: [
        { h: "运行时间", v: r => Youfu.localTime(r.started_at) },
        { h: "范围", v: r => r.district_code ? (DISTRICTS[r.district_code] || r.district_code) : "全市" },
        { h: "方式", v: r => TRIGGERS[r.trigger] || r.trigger },
        { h: "本次发放张数", v: r => r.issued_count },
        { h: "本次发放金额（元）", v: r => r.issued_fen, money: true },
        { h: "此前已发、未重复发放张数", v: r => r.already_count },
      ] });
    const lines = runs.length ? runs[0].by_district_kind : [];
    Youfu.table("#issuance-lines", { caption: "最近一次发放明细（按区县和券种）", name: `代金券发放明细-${month}`, sheet: "发放明细",
      rows: lines, empty: "没有明细。",
      columns: [
        { h: "区县", v: r => r.district_name }, { h: "券种", v: r => r.kind_name },
        { h: "发放张数", v: r => r.issued_count }, { h: "发放金额（元）", v: r => r.issued_fen, money: true },
        { h: "此前已发张数", v: r => r.already_count }, { h: "此前已发金额（元）", v: r => r.already_fen, money: true },
      ] });
  }
  $("#run-issuance").addEventListener("click", async () => {
    const btn = $("#run-issuance"), now = Youfu.month();
    btn.disabled = true; $("#issuance-msg").hidden = true;
    try {
      const r = await Youfu.api("POST", `${V}/issuance-runs`, { month: now });
      if (month !== now) { month = now; $("#month").value = now; labelMonth(); }
      await Promise.all([panel("issuance", loadIssuance), panel("spend", loadSpend)]);
      done("#issuance-msg", `${now} 代金券发放完成：本次发放 ${r.issued_count} 张、共 ${money(r.issued_fen)} 元；`
        + `此前已发放的 ${r.already_count} 张没有重复发放。`);
    } catch (err) { Youfu.show("#issuance-msg", "发放没有成功：" + Youfu.explain(err)); }
    finally { btn.disabled = false; }
  });

  // ---- providers awaiting review ----
  async function loadReview() {
    const list = await Youfu.api("GET", `${P}/providers?status=applied&limit=100`);
    Youfu.table("#review-body", { caption: "待审核的入驻申请", name: "待审核服务商", sheet: "待审核服务商", rows: list,
      empty: "目前没有待审核的申请。",
      columns: [
        { h: "服务商名称", v: p => p.name, long: true }, { h: "类型", v: p => p.kind_name },
        { h: "所在地", v: p => [p.district_name, p.street].filter(Boolean).join(" ") },
        { h: "统一社会信用代码", v: p => p.credit_code || "" },
        { h: "联系人", v: p => [p.contact_name, p.contact_phone].filter(Boolean).join(" ") },
        { h: "资质文件", long: true, v: p => p.documents ? (p.documents.ok ? "齐全有效" : `缺少或过期：${p.documents.problem}`) : "" },
        { h: "申请时间", v: p => Youfu.localTime(p.created_at) },
        { h: "审核", noExport: true, html: p => `<div class="row-actions">
            <input aria-label="对${Youfu.esc(p.name)}的审核意见" placeholder="审核意见（驳回时必填）" data-reason="${p.id}" maxlength="500">
            <button type="button" data-review="approve" data-id="${p.id}">通过</button>
            <button type="button" data-review="reject" data-id="${p.id}">驳回</button></div>` },
      ] });
  }
  $("#review-body").addEventListener("click", async e => {
    const b = e.target.closest("button[data-review]");
    if (!b) return;
    const reason = document.querySelector(`[data-reason="${b.dataset.id}"]`).value.trim();
    if (b.dataset.review === "reject" && reason.length < 2) {
      Youfu.show("#review-msg", "驳回时请填写原因（至少 2 个字），服务商会看到这条意见并据此修改申请。"); return;
    }
    b.disabled = true;
    let p;
    try { p = await Youfu.api("POST", `${P}/providers/${b.dataset.id}/${b.dataset.review}`, reason ? { reason } : {}); }
    catch (err) { b.disabled = false; Youfu.show("#review-msg", "审核没有成功：" + Youfu.explain(err)); return; }
    await Promise.all([panel("review", loadReview), panel("documents", loadDocuments)]);
    done("#review-msg", `已${b.dataset.review === "approve" ? "审核通过" : "驳回"}：${p.name}。`);
  });

  async function loadDocuments() {
    const list = await Youfu.api("GET", `${P}/documents/expiring?within_days=30`);
    Youfu.table("#documents-body", { caption: "30 天内到期或已过期的资质文件", name: "资质文件到期提醒", sheet: "资质到期", rows: list,
      empty: "30 天内没有到期的资质文件。",
      columns: [
        { h: "服务商", v: d => d.provider_name, long: true }, { h: "证件", v: d => d.kind_name }, { h: "编号", v: d => d.number },
        { h: "有效期至", v: d => d.expires_on },
        { h: "剩余天数", v: d => d.days_left < 0 ? `已过期 ${-d.days_left} 天` : `${d.days_left} 天` },
        { h: "必备", v: d => d.required ? "是" : "否" },
      ] });
  }

  // ---- lists from other bureaus (city officers): upload → dry run → apply (assessment service) ----
  const A = "/api/assessment";
  const LIST_KINDS = { deaths: "死亡名单", moves: "户籍迁出名单", assistance: "救助名单" };
  const OUTCOMES = { apply: "将变更", unchanged: "无需变更", name_mismatch: "姓名不符", unknown: "查无此人",
    conflicting: "相互矛盾", invalid: "格式有误" };
  const APPLIED_OUTCOMES = { ...OUTCOMES, apply: "已变更" };
  const CHANGE_FIELDS = { status: "老人状态", economic_status: "救助类别" };
  const CHANGE_VALUES = { active: "在册", deceased: "已故", moved_away: "已迁出", tekun: "特困", dibao: "低保",
    dibao_edge: "低保边缘", expense_hardship: "支出型困难", none: "无" };
  const COUNT_NAMES = [["rows", "名单行数"], ["matched", "匹配到老人"], ["apply", "将变更"], ["unchanged", "已是该状态"],
    ["name_mismatch", "姓名不符"], ["unknown", "查无此人"], ["conflicting", "相互矛盾"], ["invalid", "格式有误"]];
  const PAGE_ROWS = 200;
  let uploadKey = null; // one key per chosen file: a retry after a lost answer makes one list, not two
  const applyKeys = new Map(); // list id → its apply key, for the same reason
  let shownList = null;

  // the lists carry who acted as an account id (or a system's name): "我" for this account
  const who = id => !id ? "" : id === me.id ? "我" : /^[0-9a-f-]{36}$/i.test(id) ? `工作人员（编号 ${short(id)}）` : id;
  const valueName = v => v === null || v === undefined ? "—" : (CHANGE_VALUES[v] || String(v));
  function changeText(c) {
    if (!c) return "";
    const what = CHANGE_FIELDS[c.field] || c.field || "";
    const from = c.from_name || valueName(c.from), to = c.to_name || valueName(c.to);
    return `${what}：${from} → ${to}${c.effective_date ? `（${c.effective_date} 起）` : ""}`;
  }
  const atStake = d => d.money_at_stake_fen === null || d.money_at_stake_fen === undefined
    ? (d.kind === "assistance" ? "不涉及" : "暂时无法估算（代金券服务暂时无法访问）") : `${money(d.money_at_stake_fen)} 元`;

  function showList(d, offset = d.offset || 0) {
    shownList = d;
    const applied = d.state === "applied", counts = d.counts || {};
    const names = applied ? { ...Object.fromEntries(COUNT_NAMES), apply: "已变更" } : Object.fromEntries(COUNT_NAMES);
    const total = counts.rows || 0, shown = (d.rows || []).length;
    const stateText = applied
      ? `已应用（${Youfu.esc(who(d.applied_by))}于 ${Youfu.localTime(d.applied_at)} 应用）`
      : "预览：尚未修改任何档案，请核对后点“确认应用”";
    const box = $("#status-list-result");
    box.innerHTML = `<div class="card" data-list="${Youfu.esc(d.list_id)}" data-state="${Youfu.esc(d.state)}">`
      + `<h4 id="status-list-title">${Youfu.esc(LIST_KINDS[d.kind] || d.kind)}：${Youfu.esc(d.source || "")}</h4>`
      + `<p id="status-list-state">${stateText}</p>`
      + `<p class="muted">上传：${Youfu.esc(who(d.uploaded_by))} · ${Youfu.localTime(d.uploaded_at)}</p>`
      + `<dl class="stats" id="status-list-counts">`
      + COUNT_NAMES.map(([k]) => `<div data-count="${k}"><dt>${names[k]}</dt><dd>${counts[k] ?? 0}</dd></div>`).join("")
      + `<div data-count="money"><dt>${d.kind === "assistance" ? "涉及金额" : "需追缴金额"}</dt><dd>${atStake(d)}</dd></div></dl>`
      + `<div id="status-list-rows"></div>`
      + (total > shown ? `<p class="pager"><span class="muted">第 ${offset + 1}–${offset + shown} 行，共 ${total} 行</span>
          <button type="button" data-page="${offset - PAGE_ROWS}"${offset > 0 ? "" : " disabled"}>上一页</button>
          <button type="button" data-page="${offset + PAGE_ROWS}"${offset + shown < total ? "" : " disabled"}>下一页</button></p>` : "")
      + (applied ? "" : `<p class="actions"><button type="button" class="primary" id="status-list-apply">确认应用</button>
          <span class="muted">只修改“将变更”的行；姓名不符、查无此人、相互矛盾、格式有误的行不会修改，请核实后另行处理。</span></p>`)
      + `</div>`;
    const outcome = applied ? APPLIED_OUTCOMES : OUTCOMES;
    Youfu.table("#status-list-rows", { caption: `比对结果（${LIST_KINDS[d.kind] || d.kind}）`,
      name: `外部数据比对-${LIST_KINDS[d.kind] || d.kind}-${d.source || d.list_id}`, sheet: "比对结果", rows: d.rows || [],
      empty: "名单里没有数据行。",
      columns: [
        { h: "行号", v: r => r.line }, { h: "结果", v: r => outcome[r.outcome] || r.outcome },
        { h: "原因", v: r => r.reason || "", long: true }, { h: "老人", v: r => r.elder_name || "" },
        { h: "变更", v: r => changeText(r.change), long: true },
        { h: "涉及金额（元）", v: r => r.amount_fen, money: true },
      ] });
  }
  async function openList(id, offset = 0) {
    showList(await Youfu.api("GET", `${A}/status-lists/${q(id)}?offset=${offset}&limit=${PAGE_ROWS}`), offset);
  }
  const listItems = r => Array.isArray(r) ? r : (r && (r.items || r.lists)) || [];
  async function loadStatusLists() {
    const lists = listItems(await Youfu.api("GET", `${A}/status-lists`));
    Youfu.table("#status-list-history", { caption: "以前上传的名单", name: "外部数据比对记录", sheet: "上传记录", rows: lists,
      empty: "还没有上传过名单。",
      columns: [
        { h: "上传时间", v: l => Youfu.localTime(l.uploaded_at) }, { h: "类型", v: l => LIST_KINDS[l.kind] || l.kind },
        { h: "来源", v: l => l.source || "", long: true }, { h: "行数", v: l => (l.counts || {}).rows ?? "" },
        { h: "变更", v: l => (l.counts || {}).apply ?? "" }, { h: "状态", v: l => l.state === "applied" ? "已应用" : "预览，未应用" },
        { h: "上传人", v: l => who(l.uploaded_by) }, { h: "应用时间", v: l => Youfu.localTime(l.applied_at) },
        { h: "查看", noExport: true, html: l => `<button type="button" data-open-list="${Youfu.esc(l.list_id)}"
            aria-label="查看 ${Youfu.esc(l.source || "")}（${Youfu.esc(Youfu.localTime(l.uploaded_at))}）">查看</button>` },
      ] });
  }
  $("#status-list-kind").addEventListener("change", () => { uploadKey = null; });
  $("#status-list-file").addEventListener("change", () => { uploadKey = null; });
  $("#status-list-form").addEventListener("submit", async e => {
    e.preventDefault();
    const file = $("#status-list-file").files[0], btn = $("#status-list-upload");
    $("#status-lists-msg").hidden = true;
    if (!file) { Youfu.show("#status-lists-msg", "请先选择名单文件（.csv 或 .xlsx）。"); $("#status-list-file").focus(); return; }
    if (!/\.(csv|xlsx)$/i.test(file.name)) { Youfu.show("#status-lists-msg", "只能上传 .csv 或 .xlsx 文件，请另存为这两种格式后再上传。"); return; }
    const form = new FormData();
    form.append("kind", $("#status-list-kind").value);
    form.append("file", file, file.name);
    uploadKey = uploadKey || Youfu.uuid();
    btn.disabled = true;
    try {
      const d = await Youfu.api("POST", `${A}/status-lists`, form, { idempotencyKey: uploadKey });
      uploadKey = null;
      showList(d);
      await panel("status-lists", loadStatusLists);
      done("#status-lists-msg", `已读取 ${d.counts.rows} 行：将变更 ${d.counts.apply} 行，请核对下方预览后确认应用。`);
    } catch (err) {
      Youfu.show("#status-lists-msg", "上传没有成功：" + Youfu.explain(err));
    } finally { btn.disabled = false; }
  });
  $("#status-list-result").addEventListener("click", async e => {
    const page = e.target.closest("button[data-page]");
    if (page && shownList) {
      try { await openList(shownList.list_id, Math.max(0, Number(page.dataset.page))); }
      catch (err) { Youfu.show("#status-lists-msg", "翻页没有成功：" + Youfu.explain(err)); }
      return;
    }
    const b = e.target.closest("#status-list-apply");
    if (!b || !shownList) return;
    const id = shownList.list_id;
    if (!applyKeys.has(id)) applyKeys.set(id, Youfu.uuid());
    b.disabled = true; $("#status-lists-msg").hidden = true;
    let r;
    try { r = await Youfu.api("POST", `${A}/status-lists/${q(id)}/apply`, {}, { idempotencyKey: applyKeys.get(id) }); }
    catch (err) { b.disabled = false; Youfu.show("#status-lists-msg", "应用没有成功，档案没有任何修改：" + Youfu.explain(err)); return; }
    if (r && r.rows) showList(r); // the answer is the applied list itself
    else { try { await openList(id); } catch { /* the message below still says what happened */ } }
    await Promise.all([panel("status-lists", loadStatusLists), panel("anomalies", loadAnomalies)]);
    done("#status-lists-msg", `已应用：变更 ${r.applied ?? 0} 位老人的档案，${r.unchanged ?? 0} 位已是该状态、没有重复修改。`
      + (shownList && shownList.kind !== "assistance" && r.applied ? "已故或迁出后仍有的券支付已生成追缴线索，在“稽核线索”中按去世或迁出的月份列出。" : ""));
  });
  $("#status-list-history").addEventListener("click", async e => {
    const b = e.target.closest("button[data-open-list]");
    if (!b) return;
    $("#status-lists-msg").hidden = true;
    try { await openList(b.dataset.openList); $("#status-list-result").scrollIntoView({ block: "start" }); }
    catch (err) { Youfu.show("#status-lists-msg", "打开名单没有成功：" + Youfu.explain(err)); }
  });

  // ---- audit findings ----
  async function loadAnomalies() {
    const list = await Youfu.api("GET", `${V}/anomalies?month=${q(month)}`);
    Youfu.table("#anomalies-body", { caption: `${month} 稽核线索`, name: `稽核线索-${month}`, sheet: "稽核线索", rows: list,
      empty: "这个月没有发现异常。",
      columns: [
        { h: "线索", v: f => f.title, long: true }, { h: "说明", v: f => f.explanation, long: true }, { h: "区县", v: f => f.district_name },
        { h: "服务商编号", v: f => short(f.provider_id) }, { h: "涉及金额（元）", v: f => f.amount_fen, money: true },
        { h: "追缴金额（元）", v: f => f.recovery_fen ?? (f.rule === RECOVERY_RULE ? f.amount_fen : null), money: true },
        { h: "状态", v: f => FINDING_STATUS[f.status] || f.status }, { h: "发现时间", v: f => Youfu.localTime(f.created_at) },
        { h: "处理", noExport: true, html: f => f.status !== "open" ? "" : `<div class="row-actions">
            <input aria-label="处理“${Youfu.esc(f.title)}”的理由" placeholder="处理理由（必填）" data-reason="${f.finding_id}" maxlength="500">
            <button type="button" data-act="dismiss" data-id="${f.finding_id}">驳回线索</button>
            ${f.provider_id ? `<button type="button" data-act="freeze_provider" data-id="${f.finding_id}">冻结结算</button>` : ""}
            ${f.redemption_ids.length ? `<button type="button" data-act="reverse" data-id="${f.finding_id}">冲正核销</button>` : ""}</div>` },
      ] });
  }
  $("#anomalies-body").addEventListener("click", async e => {
    const b = e.target.closest("button[data-act]");
    if (!b) return;
    const reason = document.querySelector(`[data-reason="${b.dataset.id}"]`).value.trim();
    if (reason.length < 2) { Youfu.show("#anomalies-msg", "请先填写处理理由（至少 2 个字），例如“电话回访老人，当日未接受服务”。"); return; }
    b.disabled = true;
    try { await Youfu.api("POST", `${V}/anomalies/${b.dataset.id}/actions`, { action: b.dataset.act, reason }); }
    catch (err) { b.disabled = false; Youfu.show("#anomalies-msg", "处理没有成功：" + Youfu.explain(err)); return; }
    await Promise.all([panel("anomalies", loadAnomalies), panel("settlements", loadSettlements)]);
    done("#anomalies-msg", `已${b.textContent}，处理记录已保存。`);
  });

  // ---- settlements ----
  async function loadSettlements() {
    const list = await Youfu.api("GET", `${V}/settlements?month=${q(month)}`);
    Youfu.table("#settlements-body", { caption: `${month} 结算单`, name: `结算单-${month}`, sheet: "结算单", rows: list,
      empty: "这个月还没有结算单（月末处理后生成）。",
      exportPath: fmt => `${V}/settlements?month=${q(month)}&format=${fmt}`,
      columns: [
        { h: "区县", v: s => s.district_name }, { h: "服务商编号", v: s => short(s.provider_id) },
        { h: "状态", v: s => SETTLEMENT_STATUS[s.status] || s.status }, { h: "服务笔数", v: s => s.redemption_count },
        { h: "核销金额（元）", v: s => s.redeemed_fen, money: true }, { h: "冲正金额（元）", v: s => s.reversed_fen, money: true },
        { h: "应付净额（元）", v: s => s.net_fen, money: true },
        { h: "操作", noExport: true, html: s => s.status === "draft"
          ? `<button type="button" data-settle="confirm" data-id="${s.settlement_id}">确认</button>`
          : s.status === "confirmed" ? `<button type="button" data-settle="pay" data-id="${s.settlement_id}">登记付款</button>` : "" },
      ] });
  }
  $("#settlements-body").addEventListener("click", async e => {
    const b = e.target.closest("button[data-settle]");
    if (!b) return;
    b.disabled = true;
    try { await Youfu.api("POST", `${V}/settlements/${b.dataset.id}/${b.dataset.settle}`); }
    catch (err) { b.disabled = false; Youfu.show("#settlements-msg", "操作没有成功：" + Youfu.explain(err)); return; }
    await panel("settlements", loadSettlements);
    done("#settlements-msg", b.dataset.settle === "confirm" ? "结算单已确认。" : "已登记付款。");
  });

  // ---- visit coverage (orders service) ----
  const pct = r => r == null ? "—" : `${(r * 100).toFixed(1)}%`;
  async function loadCoverage() {
    const c = await Youfu.api("GET", `${O}/visit-coverage?month=${q(month)}`);
    const rows = [];
    for (const d of c.districts) {
      const name = DISTRICTS[d.district_code] || d.district_code || "未填区县";
      rows.push({ district: name, street: "（全区合计）", ...d });
      for (const st of d.streets || []) rows.push({ district: name, ...st, street: st.street || "未填街道" });
    }
    Youfu.table("#coverage-body", { caption: `${month} 探访覆盖：应探访 ${c.required} 人，已探访 ${c.visited} 人，覆盖率 ${pct(c.ratio)}`,
      name: `探访覆盖-${month}`, sheet: "探访覆盖", rows, empty: "这个月没有需要探访的特殊困难老人。",
      columns: [
        { h: "区县", v: r => r.district }, { h: "街道", v: r => r.street },
        { h: "应探访人数", v: r => r.required }, { h: "已探访人数", v: r => r.visited },
        { h: "未探访人数", v: r => r.required - r.visited }, { h: "覆盖率", v: r => pct(r.ratio) },
      ] });
  }

  // ---- care plans: planned against delivered (orders), plans to review and home beds (assessment) ----
  const names = new Map(); // elder and provider ids → names, looked up once
  async function nameOf(kind, id) {
    if (!id) return "";
    if (!names.has(id)) {
      try {
        const r = await Youfu.api("GET", kind === "elder" ? `${A}/elders/${q(id)}` : `${P}/providers/${q(id)}`);
        names.set(id, r.name);
      } catch { names.set(id, `${kind === "elder" ? "老人" : "服务商"}（编号 ${short(id)}）`); }
    }
    return names.get(id);
  }
  async function named(rows, kind, idField, nameField) {
    await Promise.all(rows.slice(0, 100).map(async r => { if (!r[nameField]) r[nameField] = await nameOf(kind, r[idField]); }));
    return rows;
  }
  const RATIO_COLUMNS = [
    { h: "计划次数", v: r => r.planned }, { h: "完成次数", v: r => r.completed },
    { h: "完成率（已完成 / 应完成）", v: r => pct(r.ratio) },
  ];
  async function loadPlanDelivery() {
    const s = await Youfu.api("GET", `${O}/plan-delivery/summary?month=${q(month)}`);
    $("#plans-summary").innerHTML = [["计划上门", `${s.planned ?? 0} 次`], ["截至今天应完成", `${s.due ?? 0} 次`],
      ["已完成", `${s.completed ?? 0} 次`], ["完成率", pct(s.ratio)],
      ["低于 80% 的老人", `${(s.elders_below || []).length} 位`]].map(([k, v]) => `<div><dt>${k}</dt><dd>${v}</dd></div>`).join("");
    const byDistrict = Youfu.rows(s.by_district).map(r => ({ ...r, name: r.district_name || DISTRICTS[r.district_code] || r.district_code || "未填区县" }));
    Youfu.table("#plans-district", { caption: `${month} 按区县的计划完成情况`, name: `护理计划执行-按区县-${month}`, sheet: "按区县",
      rows: byDistrict, empty: "这个月还没有护理计划的上门安排。", columns: [{ h: "区县", v: r => r.name }, ...RATIO_COLUMNS] });
    const byProvider = await named(Youfu.rows(s.by_provider), "provider", "provider_id", "provider_name");
    Youfu.table("#plans-provider", { caption: `${month} 按服务商的计划完成情况`, name: `护理计划执行-按服务商-${month}`, sheet: "按服务商",
      rows: byProvider, empty: "这个月还没有护理计划的上门安排。", columns: [{ h: "服务商", v: r => r.provider_id ? r.provider_name : "未指定服务商", long: true }, ...RATIO_COLUMNS] });
    const below = await named(Youfu.rows(s.elders_below).map(r => ({ ...r, elder_name: r.name })), "elder", "elder_id", "elder_name");
    Youfu.table("#plans-below", { caption: `${month} 完成率低于 80% 的老人`, name: `护理计划完成率低于80%-${month}`, sheet: "低于80%",
      rows: below, empty: "没有完成率低于 80% 的老人。",
      columns: [{ h: "老人", v: r => r.elder_name }, { h: "区县", v: r => DISTRICTS[r.district_code] || r.district_code || "" }, ...RATIO_COLUMNS] });
  }
  async function loadPlansToReview() {
    const plans = await named(Youfu.rows(await Youfu.api("GET", `${A}/care-plans?state=to_review`)), "elder", "elder_id", "elder_name");
    Youfu.table("#plans-review", { caption: "待复核的护理计划", name: "待复核的护理计划", sheet: "待复核", rows: plans,
      empty: "没有待复核的护理计划。",
      columns: [
        { h: "老人", v: p => p.elder_name }, { h: "版本", v: p => `第 ${p.version} 版` }, { h: "原等级", v: p => p.grade ?? "" },
        { h: "开始日期", v: p => p.start_date || "" }, { h: "复评日期", v: p => p.review_date || "" },
        { h: "待复核起", v: p => Youfu.localDate(p.review_since) },
      ] });
  }
  const BED_STATES = { preparing: "筹备中", open: "已开通", closed: "已撤床" };
  async function loadHomeBeds() {
    const beds = await named(await named(Youfu.rows(await Youfu.api("GET", `${A}/home-beds`)), "elder", "elder_id", "elder_name"),
      "provider", "provider_id", "provider_name");
    const missing = b => (b.missing || []).map(m => m.reason || m.code || m).join("；");
    Youfu.table("#home-beds-body", { caption: "家庭养老床位（筹备中的列出开通前还缺什么）", name: "家庭养老床位", sheet: "家庭养老床位",
      rows: beds.filter(b => b.state !== "closed"), empty: "还没有筹备中或已开通的家庭养老床位。",
      columns: [
        { h: "老人", v: b => b.elder_name }, { h: "责任服务机构", v: b => b.provider_name, long: true },
        { h: "状态", v: b => b.state_name || BED_STATES[b.state] || b.state },
        { h: "每周上门", v: b => b.package && b.package.visits_per_week != null ? `${b.package.visits_per_week} 次` : "" },
        { h: "远程监测", v: b => b.package ? (b.package.remote_monitoring ? "有" : "无") : "" },
        { h: "已装设备", v: b => (b.devices || []).length },
        { h: "开通前还缺", v: b => b.state === "preparing" ? missing(b) || "已齐备，可以开通" : "", long: true },
        { h: "开通日期", v: b => b.opened_on || "" },
      ] });
  }

  function labelMonth() { document.querySelectorAll(".month-label").forEach(x => { x.textContent = month; }); }
  function loadMonth() {
    labelMonth();
    return Promise.all([panel("spend", loadSpend), panel("issuance", loadIssuance), panel("anomalies", loadAnomalies),
      panel("settlements", loadSettlements), panel("coverage", loadCoverage), panel("plans", loadPlanDelivery)]);
  }
  $("#month-form").addEventListener("submit", e => {
    e.preventDefault();
    if (/^\d{4}-\d{2}$/.test($("#month").value)) { month = $("#month").value; loadMonth(); }
  });

  if (!me) { document.querySelectorAll("main > section, .toc, #month-form").forEach(x => { x.hidden = true; }); return; }
  $("#scope").textContent = city ? "（全市）" : `（${DISTRICTS[me.district_code] || me.district_code || ""}）`;
  $("#status-lists").hidden = $("#status-lists-link").hidden = !city; // lists from other bureaus cover the whole city
  $("#month").value = month; $("#month").max = Youfu.month();
  $("#run-issuance").textContent = `发放本月（${Youfu.month()}）代金券`;
  Promise.all([loadMonth(), panel("review", loadReview), panel("documents", loadDocuments),
    panel("plans-review", loadPlansToReview), panel("home-beds", loadHomeBeds),
    city ? panel("status-lists", loadStatusLists) : null])
    .then(() => document.body.setAttribute("data-loaded", "true"));
})();
