// The bureau's part on institutional stays: bed capacity, occupancy and vacancies by district and
// by institution, the share of nursing beds against the city plan's target, and the monthly
// bed-day claims the institutions confirmed, for the district officer to approve. Apart from
// bureau.js so the two stay independent; it follows the dashboard's month (#month).
(() => {
  const V = "/api/vouchers", P = "/api/providers";
  const $ = s => document.querySelector(s);
  const esc = s => Youfu.esc(s);
  const q = encodeURIComponent;
  const DISTRICTS = JSON.parse(document.getElementById("districts").textContent);
  const CLAIM_STATE = { drafted: "待机构确认", confirmed: "待审核", settled: "已结算" };
  const me = Youfu.me();
  if (!me || !["officer", "city_officer", "admin"].includes(me.role) || !Youfu.token()) return;
  const pick = (o, ...keys) => { for (const k of keys) if (o && o[k] !== undefined && o[k] !== null) return o[k]; return undefined; };
  const list = data => Array.isArray(data) ? data : (data && (data.items || data.claims)) || [];
  const month = () => /^\d{4}-\d{2}$/.test($("#month").value) ? $("#month").value : Youfu.month();
  const fail = Youfu.failPanel;
  const done = (sel, text) => { Youfu.show(sel, text, "ok"); $(sel).setAttribute("role", "status"); };
  const pct = (part, whole) => whole ? `${(100 * part / whole).toFixed(1)}%` : "—";
  const share = v => v == null ? null : v * 100; // a fraction, shown as a percentage
  const COUNT_COLUMNS = [
    { h: "床位总数", v: r => pick(r, "capacity", "beds") ?? 0 },
    { h: "已入住", v: r => pick(r, "occupied") ?? 0 },
    { h: "已预留", v: r => pick(r, "reserved") ?? 0 },
    { h: "空床", v: r => pick(r, "free", "vacant") ?? 0 },
    { h: "入住率", v: r => pct(pick(r, "occupied") ?? 0, pick(r, "capacity", "beds") ?? 0) },
    { h: "停用", v: r => r.out_of_service ?? 0 },
    { h: "护理型床位", v: r => r.nursing_beds ?? "" },
    { h: "护理型占比", v: r => r.nursing_share == null ? "" : `${share(r.nursing_share).toFixed(1)}%` },
  ];

  const names = new Map(); // provider id → name, from the capacity answer (claims carry only the id)
  async function loadOccupancy() {
    $("#occupancy-msg").hidden = true;
    let cap;
    try { cap = await Youfu.api("GET", `${P}/bed-capacity${me.role === "officer" && me.district_code ? `?district_code=${q(me.district_code)}` : ""}`); }
    catch (err) { fail("#occupancy-msg", err); return; }
    const districts = cap.districts || [], institutions = cap.institutions || [];
    institutions.forEach(i => names.set(i.provider_id, i.name));
    const now = share(cap.total && cap.total.nursing_share), target = share(cap.nursing_share_target) ?? 70;
    const box = $("#nursing-share");
    box.classList.toggle("below", now != null && now < target);
    box.textContent = now == null ? "" : `护理型床位占比 ${now.toFixed(1)}%，规划目标 ${target.toFixed(0)}%：`
      + (now >= target ? "已达到目标。" : `低于目标 ${(target - now).toFixed(1)} 个百分点。`);
    Youfu.table("#occupancy-districts", { caption: "按区县的床位和入住", name: "机构床位-按区县", sheet: "按区县",
      rows: districts, empty: "还没有机构登记床位。",
      columns: [{ h: "区县", v: r => r.district_name || DISTRICTS[r.district_code] || r.district_code }, ...COUNT_COLUMNS] });
    Youfu.table("#occupancy-institutions", { caption: "各机构的空床", name: "机构床位-按机构", sheet: "按机构",
      rows: [...institutions].sort((a, b) => (pick(b, "free") ?? 0) - (pick(a, "free") ?? 0)), empty: "还没有机构登记床位。",
      columns: [{ h: "机构", v: r => pick(r, "name", "provider_name") || String(r.provider_id || "").slice(0, 8) },
        { h: "区县", v: r => pick(r, "district_name") || DISTRICTS[r.district_code] || r.district_code || "" }, ...COUNT_COLUMNS] });
  }

  async function loadClaims() {
    $("#stay-claims-msg").hidden = true;
    const m = month();
    let claims;
    try { claims = list(await Youfu.api("GET", `${V}/stay-claims?month=${q(m)}`)); }
    catch (err) { fail("#stay-claims-msg", err); return; }
    const order = { confirmed: 0, drafted: 1, settled: 2 };
    Youfu.table("#stay-claims-body", { caption: `${m} 床位费结算单`, name: `床位费结算-${m}`, sheet: "床位费结算",
      rows: claims.sort((a, b) => (order[a.state] ?? 9) - (order[b.state] ?? 9)), empty: "这个月还没有床位费结算单。",
      columns: [
        { h: "机构", v: c => names.get(c.provider_id) || `机构（编号 ${String(c.provider_id || "").slice(0, 8)}）` },
        { h: "老人编号", v: c => String(c.elder_id || "").slice(0, 8) },
        { h: "区县", v: c => c.district_name || "" },
        { h: "在院天数", v: c => c.present_days },
        { h: "计费请假天数", v: c => c.paid_leave_days },
        { h: "床位费合计（元）", v: c => c.amount_fen, money: true },
        { h: "托养券支付（元）", v: c => c.voucher_fen, money: true },
        { h: "老人自付（元）", v: c => c.elder_fen, money: true },
        { h: "状态", v: c => CLAIM_STATE[c.state] || c.state_name || c.state },
        { h: "审核", noExport: true, html: c => c.state === "confirmed" && me.role !== "admin"
          ? `<button type="button" class="primary" data-approve-claim="${esc(pick(c, "claim_id", "id"))}" aria-label="审核通过老人 ${esc(String(c.elder_id).slice(0, 8))} 的床位费结算单">审核通过</button>` : "" },
      ] });
  }
  $("#stay-claims-body").addEventListener("click", async e => {
    const b = e.target.closest("button[data-approve-claim]");
    if (!b) return;
    b.disabled = true;
    try {
      await Youfu.api("POST", `${V}/stay-claims/${b.dataset.approveClaim}/approve`);
      done("#stay-claims-msg", "已审核通过，托养券部分按账本结算。");
      await loadClaims();
    } catch (err) { b.disabled = false; Youfu.show("#stay-claims-msg", "没有审核成功：" + Youfu.explain(err)); }
  });
  $("#draft-stay-claims").addEventListener("click", async () => {
    const b = $("#draft-stay-claims"), m = month();
    b.disabled = true;
    try {
      const r = list(await Youfu.api("POST", `${V}/stay-claims/draft`, { month: m }));
      done("#stay-claims-msg", `已生成 ${m} 的床位费结算单（共 ${r.length} 张），等待机构确认。`);
      await loadClaims();
    } catch (err) { Youfu.show("#stay-claims-msg", "没有生成：" + Youfu.explain(err)); }
    finally { b.disabled = false; }
  });
  $("#month-form").addEventListener("submit", () => { setTimeout(loadClaims, 0); });
  loadOccupancy().then(loadClaims).then(() => document.body.setAttribute("data-stays-loaded", "true"));
})();
