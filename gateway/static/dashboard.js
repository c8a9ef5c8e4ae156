// The bureau's dashboard (/bureau/dashboard): the city plan's indicators against their targets, charts
// (ECharts, vendored, drawn as SVG) each beside its data table — the chart's text alternative and its Excel
// export (/api/dashboard/export, written by the server) — and the map of unmet demand as h3 cells over
// the districts' outlines (示意), with no tile server. The token decides the scope; each panel loads on its own.
(() => {
  const D = "/api/dashboard";
  const $ = s => document.querySelector(s);
  const q = encodeURIComponent;
  const DISTRICTS = JSON.parse(document.getElementById("districts").textContent);
  const me = Youfu.requireRole(["officer", "city_officer", "admin"], "规划指标看板");
  if (!me) return;
  const city = me.role !== "officer";
  const area = city ? "全市" : (DISTRICTS[me.district_code] || "本区");
  $("#scope").textContent = `（${area}）`;
  let month = Youfu.month();
  const charts = new Map(); // element id → ECharts instance (resized with the window)
  const COLORS = ["#0b3d91", "#b3261e", "#1b5e20", "#6a1b9a", "#e65100", "#00695c", "#4e342e", "#37474f"];

  const pct = v => v === null || v === undefined ? "无数据" : `${(v * 100).toFixed(1)}%`;
  const yuan = fen => (Number(fen || 0) / 100).toFixed(2);
  const exportPath = dataset => fmt => fmt === "xlsx" ? `${D}/export?dataset=${dataset}&month=${q(month)}` : null;
  function chart(id, option, label) {
    const el = document.getElementById(id);
    let c = charts.get(id);
    if (!c) { c = echarts.init(el, null, { renderer: "svg" }); charts.set(id, c); }
    c.setOption({ color: COLORS, textStyle: { fontSize: 14 }, animation: false, ...option }, true);
    if (label) el.setAttribute("aria-label", label);
    return c;
  }
  window.addEventListener("resize", () => charts.forEach(c => c.resize()));
  const fail = Youfu.failPanel, panel = Youfu.panel;
  const missing = new Set();
  function noteMissing(list) {
    (list || []).forEach(m => missing.add(m));
    if (missing.size) Youfu.show("#missing", `${[...missing].join("、")}暂时没有应答，相关指标显示“无数据”。`);
  }

  // ---- indicators ----
  const badge = i => i.met === null ? `<span class="badge none">${i.target === null ? "无目标" : "无数据"}</span>`
    : i.met ? `<span class="badge met">达标</span>` : `<span class="badge unmet">未达标</span>`;
  async function loadIndicators() {
    const data = await Youfu.api("GET", `${D}/indicators?month=${q(month)}`);
    noteMissing(data.missing);
    $("#month-note").textContent = data.state === "current" ? `${month} 是本月，数字截至今天（${data.today}），月底前还会变化。`
      : data.state === "future" ? `${month} 还没有到，没有数据。` : `${month} 已结束，数字按月末计。`;
    const top = data.rows[0];
    $("#indicator-cards").innerHTML = top.indicators.map(i => `<div class="ind-card">
        <h4>${Youfu.esc(i.name)}</h4>
        <p class="value">${Youfu.esc(i.display)} ${badge(i)}</p>
        <p>目标：${Youfu.esc(i.target_display)}　<span class="muted">${i.denominator ? `${i.numerator ?? 0} / ${i.denominator}` : ""}</span></p>
        <p class="definition">${Youfu.esc(i.definition)}</p></div>`).join("");
    const keys = top.indicators.map(i => i.key);
    Youfu.table("#indicator-table", { caption: `各区县规划指标（${month}）`, name: `规划指标-${month}`, sheet: "规划指标",
      rows: data.rows, columns: [{ h: "区域", v: r => r.area },
        ...keys.map((k, n) => ({ h: top.indicators[n].name, v: r => {
          const i = r.indicators.find(x => x.key === k);
          return i.met === null ? i.display : `${i.display}（${i.met ? "达标" : "未达标"}）`;
        } }))],
      exportPath: exportPath("indicators") });
    drawTrend(data);
  }

  function drawTrend(data) {
    const months = [...new Set(data.trend.map(t => t.month))];
    const names = [...new Set(data.trend.map(t => t.name))];
    const at = (m, n) => data.trend.find(t => t.month === m && t.name === n);
    chart("chart-trend", {
      tooltip: { trigger: "axis", valueFormatter: v => v === null || v === undefined ? "无数据" : `${v}%` },
      legend: { type: "scroll", top: 0 }, grid: { top: 60, left: 50, right: 20, bottom: 40 },
      xAxis: { type: "category", data: months.map(m => at(m, names[0]).part_month ? `${m}（截至今天）` : m) },
      yAxis: { type: "value", name: "%", min: 0 },
      series: names.map(n => ({ name: n, type: "line", connectNulls: false,
        data: months.map(m => { const v = at(m, n).value; return v === null ? null : +(v * 100).toFixed(1); }) })),
    }, `${area}近 12 个月规划指标走势折线图（${months[0]}至${months[months.length - 1]}），数据见旁边的表格`);
    Youfu.table("#table-trend", { caption: "近 12 个月走势（数据表）", name: `指标走势-${month}`, sheet: "近12个月",
      rows: months, columns: [{ h: "月份", v: m => m }, ...names.map(n => ({ h: n, v: m => at(m, n).display }))],
      exportPath: exportPath("trend") });
  }

  // ---- vouchers ----
  async function loadSpend() {
    const data = await Youfu.api("GET", `${D}/spend?month=${q(month)}`);
    noteMissing(data.missing);
    const kinds = [...new Map(data.rows.map(r => [r.kind, r.kind_name])).entries()];
    const sum = (rows, pick) => rows.reduce((s, r) => s + pick(r), 0);
    chart("chart-spend-month", {
      tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { top: 40, left: 70, right: 20, bottom: 40 },
      xAxis: { type: "category", data: data.months }, yAxis: { type: "value", name: "元" },
      series: kinds.map(([k, name]) => ({ name, type: "bar", stack: "spent",
        data: data.months.map(m => +yuan(sum(data.rows.filter(r => r.month === m && r.kind === k), r => r.spent_fen))) })),
    }, `近 12 个月代金券支付净额柱状图，按券种堆叠；共 ${yuan(sum(data.rows, r => r.spent_fen))} 元，明细见表格`);
    Youfu.table("#table-spend", { caption: "代金券发放与消费（月份 × 区县 × 券种）", name: `代金券发放与消费-${month}`,
      sheet: "发放与消费", rows: data.rows, empty: "这段时间没有发放或消费记录。",
      columns: [{ h: "月份", v: r => r.month }, { h: "区县", v: r => r.district_name }, { h: "券种", v: r => r.kind_name },
        { h: "发放金额（元）", v: r => r.issued_fen, money: true }, { h: "券支付净额（元）", v: r => r.spent_fen, money: true },
        { h: "使用率", v: r => pct(r.uptake) }],
      exportPath: exportPath("spend") });
    const here = data.rows.filter(r => r.month === month);
    const districts = [...new Map(here.map(r => [r.district_code, r.district_name])).entries()];
    chart("chart-spend-district", {
      tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { top: 40, left: 70, right: 20, bottom: 40 },
      xAxis: { type: "category", data: districts.map(([, n]) => n) }, yAxis: { type: "value", name: "元" },
      series: kinds.map(([k, name]) => ({ name, type: "bar", stack: "spent",
        data: districts.map(([d]) => +yuan(sum(here.filter(r => r.district_code === d && r.kind === k), r => r.spent_fen))) })),
    }, `${month} 各区县代金券支付净额柱状图：` + (districts.length ? districts.map(([d, n]) =>
      `${n} ${yuan(sum(here.filter(r => r.district_code === d), r => r.spent_fen))} 元`).join("，") : "没有记录"));
    $("#summary-spend-district").innerHTML = `<p class="muted">${Youfu.esc($("#chart-spend-district").getAttribute("aria-label"))}。导出见上面的表格。</p>`;
  }

  // ---- orders by hour, time to acceptance ----
  async function loadOrders() {
    const data = await Youfu.api("GET", `${D}/activity?month=${q(month)}`);
    noteMissing(data.missing);
    const peak = data.by_hour.reduce((b, h) => h.orders > b.orders ? h : b, { hour: null, orders: 0 });
    chart("chart-hours", {
      tooltip: { trigger: "axis" }, grid: { top: 30, left: 50, right: 20, bottom: 40 },
      xAxis: { type: "category", data: data.by_hour.map(h => `${h.hour}时`) }, yAxis: { type: "value", name: "订单数", minInterval: 1 },
      series: [{ name: "订单数", type: "bar", data: data.by_hour.map(h => h.orders) }],
    }, `${month} 订单按下单时刻柱状图：共 ${data.orders} 单` + (peak.hour === null ? "" : `，最多在 ${peak.hour} 时（${peak.orders} 单）`));
    Youfu.table("#table-hours", { caption: "按下单时刻（数据表）", name: `订单下单时刻-${month}`, sheet: "下单时刻",
      rows: data.by_hour.filter(h => h.orders), empty: "这个月还没有订单。",
      columns: [{ h: "下单时段", v: h => `${String(h.hour).padStart(2, "0")}:00–${String(h.hour).padStart(2, "0")}:59` },
        { h: "订单数", v: h => h.orders }], exportPath: exportPath("hours") });
    chart("chart-acceptance", {
      tooltip: { trigger: "axis" }, grid: { top: 30, left: 50, right: 20, bottom: 60 },
      xAxis: { type: "category", data: data.acceptance.map(b => b.band), axisLabel: { rotate: 30 } },
      yAxis: { type: "value", name: "订单数", minInterval: 1 },
      series: [{ name: "订单数", type: "bar", data: data.acceptance.map(b => b.orders) }],
    }, `${month} 接单用时柱状图：已接单 ${data.accepted} 单` +
      (data.median_acceptance_min === null ? "" : `，中位数 ${data.median_acceptance_min} 分钟`));
    Youfu.table("#table-acceptance", { caption: `从下单到接单（中位数 ${data.median_acceptance_min ?? "—"} 分钟）`,
      name: `接单用时-${month}`, sheet: "接单用时", rows: data.acceptance,
      columns: [{ h: "从下单到接单", v: b => b.band }, { h: "订单数", v: b => b.orders }], exportPath: exportPath("acceptance") });
  }

  // ---- the map of unmet demand ----
  let outlines = null;
  async function loadMap() {
    if (!outlines) outlines = await (await fetch("/static/geo/districts-outline.json")).json();
    const data = await Youfu.api("GET", `${D}/unmet?month=${q(month)}`);
    noteMissing(data.missing);
    const lons = outlines.city_outline.map(p => p[0]), lats = outlines.city_outline.map(p => p[1]);
    const max = Math.max(1, ...data.cells.map(c => c.total));
    const shade = t => { const k = 0.25 + 0.75 * (t / max); return `rgba(179,38,30,${k.toFixed(2)})`; };
    const polygon = points => (params, api) => ({ type: "polygon", shape: { points: points(params.dataIndex).map(p => api.coord(p)) } });
    const c = chart("chart-map", {
      tooltip: { formatter: p => p.seriesName === "未满足需求" ? `单元 ${p.data.cell.cell}<br>未匹配 ${p.data.cell.unmatched}，`
        + `取消 ${p.data.cell.cancelled}，范围外老人 ${p.data.cell.elders_out_of_reach}` : p.name },
      grid: { left: 10, right: 10, top: 10, bottom: 10 },
      // the wheel or a pinch zooms in on a neighbourhood (cells are a few hundred metres across)
      dataZoom: [{ type: "inside", xAxisIndex: 0, filterMode: "none" }, { type: "inside", yAxisIndex: 0, filterMode: "none" }],
      xAxis: { type: "value", min: Math.min(...lons), max: Math.max(...lons), show: false, scale: true },
      yAxis: { type: "value", min: Math.min(...lats), max: Math.max(...lats), show: false, scale: true },
      series: [
        { name: "区县轮廓（示意）", type: "custom", silent: true, z: 1,
          data: outlines.districts.map(d => ({ name: d.name, value: d.outline[0] })),
          renderItem: (params, api) => ({ ...polygon(i => outlines.districts[i].outline)(params, api),
            style: { fill: "#f6f4ef", stroke: "#666", lineWidth: 1 } }) },
        { name: "未满足需求", type: "custom", z: 3,
          data: data.cells.map(cell => ({ name: cell.cell, value: [cell.lon, cell.lat, cell.total], cell })),
          renderItem: (params, api) => ({ ...polygon(i => data.cells[i].boundary)(params, api),
            style: { fill: shade(data.cells[params.dataIndex].total), stroke: "#7f1d1d", lineWidth: 1 } }) },
        { name: "区县中心", type: "scatter", z: 4, symbolSize: 8, itemStyle: { color: "#0b3d91" },
          label: { show: true, position: "right", formatter: p => p.name, color: "#111", fontSize: 13 },
          data: data.centres.map(d => ({ name: d.district_name, value: [d.lon, d.lat] })) },
      ],
    }, `未满足需求地图（示意轮廓）：${data.cells.length} 个单元，${data.orders} 张无人接单的订单；单元列表见地图下方的表格`);
    c.off("click");
    c.on("click", p => { if (p.seriesName === "未满足需求") showCell(p.data.cell.cell); });
    Youfu.table("#table-cells", { caption: "未满足需求的地图单元（按合计从多到少）", name: `未满足需求-${month}`, sheet: "未满足需求",
      rows: data.cells, empty: "这个月没有未满足的需求。",
      columns: [{ h: "地图单元（h3）", v: x => x.cell }, { h: "未匹配订单", v: x => x.unmatched },
        { h: "无人接单后取消", v: x => x.cancelled }, { h: "服务范围外的老人", v: x => x.elders_out_of_reach },
        { h: "在册老人", v: x => x.elders }, { h: "合计", v: x => x.total },
        { h: "详情", noExport: true, html: x => `<button type="button" data-cell="${Youfu.esc(x.cell)}">查看</button>` }],
      exportPath: exportPath("unmet") });
  }
  $("#table-cells").addEventListener("click", e => { const b = e.target.closest("button[data-cell]"); if (b) showCell(b.dataset.cell); });

  async function showCell(cell) {
    const box = $("#cell-detail");
    box.innerHTML = `<p class="muted">正在读取单元 ${Youfu.esc(cell)}……</p>`;
    let d;
    try { d = await Youfu.api("GET", `${D}/unmet/${q(cell)}?month=${q(month)}`); }
    catch (err) { box.innerHTML = `<p class="notice error">读取没有成功：${Youfu.esc(Youfu.explain(err))}</p>`; return; }
    const orders = d.orders.length ? `<ul class="cell-orders">${d.orders.map(o => `<li>${Youfu.esc(Youfu.localTime(o.window_start))}
        ${Youfu.esc(o.service_name)}：${Youfu.esc(o.reason)}（${Youfu.esc([o.district_name, o.street].filter(Boolean).join(" "))}，
        订单 ${Youfu.esc(o.order_id.slice(0, 8))}）</li>`).join("")}</ul>` : "<p>这个单元本月没有无人接单的订单（只有服务范围外的老人）。</p>";
    const providers = d.providers.length ? `<ul class="cell-providers">${d.providers.map(p => `<li>${Youfu.esc(p.name)}
        （${Youfu.esc(p.kind_name || "")}）距离 ${(p.distance_m / 1000).toFixed(1)} 公里，服务半径 ${(p.reach_m / 1000).toFixed(1)} 公里，
        ${p.reaches ? "可以上门" : "超出服务范围"}</li>`).join("")}</ul>` : "<p>没有已通过审核的服务商。</p>";
    box.innerHTML = `<h4>单元 ${Youfu.esc(cell)}</h4><h4>单元里的订单（${d.orders.length}）</h4>${orders}`
      + `<h4>最近的服务商</h4>${providers}`;
  }

  // ---- month ----
  function labelMonth() { document.querySelectorAll(".month-label").forEach(el => { el.textContent = month; }); }
  function loadAll() {
    labelMonth(); missing.clear(); $("#missing").hidden = true; $("#cell-detail").innerHTML = "";
    return Promise.all([panel("indicators", loadIndicators), panel("spend", loadSpend), panel("orders", loadOrders),
      panel("unmet", loadMap)]).then(() => document.body.setAttribute("data-loaded", "true"));
  }
  $("#month").value = month;
  $("#month-form").addEventListener("submit", e => {
    e.preventDefault();
    if (/^\d{4}-\d{2}$/.test($("#month").value)) { month = $("#month").value; loadAll(); }
  });
  loadAll();
})();
