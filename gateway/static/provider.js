// The provider workbench: open offers with a live countdown (accept with a caregiver, or decline),
// the schedule per caregiver with geo-checked check-in (browser location or typed coordinates,
// a reason for an exception) and check-out with the service record; for the provider's
// administrator also the catalogue, the caregivers and the monthly statement; the schedule its care plans hold.
(() => {
  const O = "/api/orders", P = "/api/providers", V = "/api/vouchers";
  const $ = s => document.querySelector(s);
  const esc = s => Youfu.esc(s);
  const yuan = fen => Youfu.yuan(fen || 0);
  const q = encodeURIComponent;
  const VOUCHERS = { community: "社区照护券", mutual_aid: "邻里互助券", institutional: "机构托养券" };
  const STATUS = { active: "在岗", on_leave: "休假", inactive: "离职" };
  const LEVELS = { level_5: "五级/初级工", level_4: "四级/中级工", level_3: "三级/高级工", level_2: "二级/技师", level_1: "一级/高级技师" };
  const SETTLEMENT_STATUS = { draft: "草稿", confirmed: "已确认", paid: "已付款" };
  const HELP = "仍有问题请拨打服务热线 88012349。";

  const me = Youfu.requireRole(["provider_admin", "caregiver"], "服务商工作台");
  if (!me) { document.querySelectorAll("main > section, main > nav, main > h2").forEach(x => { x.hidden = true; }); return; }
  const admin = me.role === "provider_admin";
  const pid = me.provider_id;
  if (!admin) document.querySelectorAll(".admin-only").forEach(x => { x.hidden = true; });

  let provider = null, caregivers = [], items = [];
  const itemName = code => (items.find(i => i.code === code) || {}).name || code;

  const say = (sel, text, kind = "error") => {
    const box = typeof sel === "string" ? $(sel) : sel;
    if (box.dataset.keep === undefined) box.dataset.keep = box.className; // Youfu.show replaces the class
    Youfu.show(box, text, kind);
    if (box.dataset.keep) box.classList.add(...box.dataset.keep.split(" "));
    if (kind === "ok") box.setAttribute("role", "status");
  };
  const quiet = sel => { (typeof sel === "string" ? $(sel) : sel).hidden = true; };
  const explain = err => err.status === 0 ? "网络连接中断了，请检查网络后再试。"
    : err.status >= 500 ? "服务暂时出了问题，请过几分钟再试。" + HELP
    : Youfu.explain(err).replace(/[。.]?$/, "。");
  const dayFmt = new Intl.DateTimeFormat("en-CA", { timeZone: Youfu.TZ });
  const today = () => dayFmt.format(new Date());
  const tomorrow = () => dayFmt.format(new Date(Date.now() + 864e5));
  function when(start, end) {
    const ds = start.slice(0, 10), [, m, d] = ds.split("-").map(Number);
    const day = ds === today() ? "今天" : ds === tomorrow() ? "明天" : `${m}月${d}日`;
    return `${day} ${start.slice(11, 16)}–${end.slice(11, 16)}`;
  }
  const shortId = id => String(id).slice(0, 8);
  function toFen(text) { // "15", "15.5", "15.50" → fen, exactly; anything else → null
    const m = /^\s*(\d{1,6})(?:\.(\d{1,2}))?\s*$/.exec(text || "");
    return m ? Number(m[1]) * 100 + Number((m[2] || "").padEnd(2, "0")) : null;
  }
  function coord(text, lo, hi) { const v = Number(String(text || "").trim()); return text && text.trim() !== "" && Number.isFinite(v) && v >= lo && v <= hi ? v : null; }

  // ---- offers: a live countdown, accept with a caregiver, or decline ----
  const offerCards = new Map(); // offer id → {el, deadline}
  const answered = new Set(); // offers answered here: a list read before the answer must not bring them back
  function caregiverOptions(serviceCode, preferred) {
    const able = caregivers.filter(c => c.status === "active" && c.skills.includes(serviceCode));
    const list = able.length ? able : caregivers.filter(c => c.status === "active");
    const pick = list.some(c => c.id === preferred) ? preferred : (list[0] || {}).id;
    return list.map(c => `<option value="${c.id}"${c.id === pick ? " selected" : ""}>${esc(c.name)}（今天已接 ${c.today_load}/${c.daily_limit} 单）</option>`).join("");
  }
  function offerCard(o) {
    const ord = o.order || {}, id = o.offer_id;
    const el = document.createElement("article");
    el.className = "card offer-card";
    el.dataset.offer = id; el.dataset.order = o.order_id;
    const money = ord.payment === "self_pay" ? `${yuan(ord.price_fen)} 元（老人自费）`
      : `${yuan(ord.price_fen)} 元（代金券 ${yuan(ord.voucher_fen)} 元，老人自付 ${yuan(ord.elder_fen)} 元）`;
    el.innerHTML = `<h4>${esc(ord.service_name || "服务")}　${esc(ord.window_start ? when(ord.window_start, ord.window_end) : "")}</h4>`
      + `<p class="countdown" role="timer" aria-live="off">剩余 <span class="secs">${o.seconds_left}</span> 秒</p>`
      + `<dl class="facts"><dt>订单号</dt><dd>${shortId(o.order_id)}</dd><dt>地址</dt><dd>${esc(ord.address || "")}</dd>`
      + (o.distance_m != null ? `<dt>距离</dt><dd>约 ${(o.distance_m / 1000).toFixed(1)} 公里</dd>` : "")
      + `<dt>金额</dt><dd>${money}</dd>` + (ord.notes ? `<dt>老人留言</dt><dd>${esc(ord.notes)}</dd>` : "") + `</dl>`
      + (admin ? `<label for="assign-${id}">指派护理员</label><select id="assign-${id}" class="assign">${caregiverOptions(ord.service_code, o.caregiver_id)}</select>`
        : `<p>接单后由您（${esc(me.display_name)}）上门服务。</p>`)
      + `<p class="actions"><button type="button" class="primary" data-act="accept">接单</button>`
      + `<button type="button" data-act="decline">拒单</button></p>`
      + `<label for="why-${id}">拒单原因（可不填）</label><input id="why-${id}" class="why" maxlength="500" placeholder="例如：该时段人手已满">`
      + `<div class="offer-msg" hidden></div>`;
    return el;
  }
  let loadingOffers = false;
  async function loadOffers() {
    if (loadingOffers) return;
    loadingOffers = true;
    try {
      const list = await Youfu.api("GET", `${O}/offers`);
      const box = $("#offer-list"), seen = new Set();
      for (const o of list) {
        seen.add(o.offer_id);
        if (!offerCards.has(o.offer_id) && !answered.has(o.offer_id)) {
          const el = offerCard(o);
          offerCards.set(o.offer_id, { el, deadline: Date.now() + o.seconds_left * 1000 });
          box.appendChild(el);
        }
      }
      for (const [id, c] of offerCards) if (!seen.has(id) && !c.busy) { c.el.remove(); offerCards.delete(id); }
      const empty = box.querySelector(":scope > .empty");
      if (!offerCards.size && !empty) box.insertAdjacentHTML("beforeend", `<p class="muted empty">现在没有待接的派单。</p>`);
      if (offerCards.size && empty) empty.remove();
      quiet("#offers-msg");
      tick();
    } catch (err) {
      say("#offers-msg", "派单暂时读不出来：" + explain(err) + "页面会自动再试。");
    } finally { loadingOffers = false; }
  }
  function tick() {
    for (const { el, deadline } of offerCards.values()) {
      const secs = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
      const box = el.querySelector(".countdown");
      box.classList.toggle("urgent", secs <= 30);
      if (secs > 0) { el.querySelector(".secs").textContent = String(secs); continue; }
      if (!box.classList.contains("over")) {
        box.classList.add("over");
        box.textContent = "已超时，这张派单已转给其他服务商";
        el.querySelectorAll("button").forEach(b => { b.disabled = true; });
      }
    }
  }
  $("#offer-list").addEventListener("click", async e => {
    const b = e.target.closest("button[data-act]");
    if (!b) return;
    const el = b.closest(".offer-card"), card = offerCards.get(el.dataset.offer), orderId = el.dataset.order;
    const msg = el.querySelector(".offer-msg");
    el.querySelectorAll("button").forEach(x => { x.disabled = true; });
    card.busy = true;
    try {
      if (b.dataset.act === "accept") {
        const body = admin ? { caregiver_id: el.querySelector(".assign").value || null } : {};
        if (admin && !body.caregiver_id) throw Object.assign(new Error("请先登记一位会做这项服务、在岗的护理员，再接单。"), { status: 422 });
        const order = await Youfu.api("POST", `${O}/orders/${orderId}/accept`, body);
        say("#offers-msg", `已接单：${order.service_name}（订单号 ${shortId(orderId)}），${when(order.window_start, order.window_end)}，`
          + `由 ${order.caregiver_name || "护理员"} 上门。可以在下面“服务安排”里签到。`, "ok");
      } else {
        await Youfu.api("POST", `${O}/orders/${orderId}/decline`, { reason: el.querySelector(".why").value.trim() });
        say("#offers-msg", `已拒单（订单号 ${shortId(orderId)}），系统会派给下一家服务商。`, "ok");
      }
      answered.add(el.dataset.offer);
      el.remove(); offerCards.delete(el.dataset.offer);
      loadSchedule(); loadCaregivers();
    } catch (err) {
      card.busy = false;
      const gone = err.status === 409 || err.status === 404;
      say(msg, (b.dataset.act === "accept" ? "没有接单成功：" : "没有拒单成功：") + explain(err)
        + (gone ? "这张派单已失效，稍后会从列表里消失。" : "请再试一次。"));
      if (!gone) el.querySelectorAll("button").forEach(x => { x.disabled = false; });
    }
  });

  // ---- schedule: check in and out ----
  const jobs = new Map(); // order id → element
  let layout = "";
  function checkInForm(o) {
    const id = o.order_id;
    return `<form class="checkin" novalidate aria-label="上门签到">
      <p class="label-like">到了老人家，请签到：</p>
      <p><button type="button" class="primary" data-act="geo">使用当前位置签到</button></p>
      <details class="typed"><summary>定位不了？输入坐标签到，或填写超出范围的原因</summary>
      <div class="inline">
        <div><label for="lat-${id}">纬度</label><input id="lat-${id}" name="lat" inputmode="decimal" placeholder="例如 32.4940"></div>
        <div><label for="lon-${id}">经度</label><input id="lon-${id}" name="lon" inputmode="decimal" placeholder="例如 119.9230"></div>
      </div>
      <label for="reason-${id}">超出签到范围的原因（在范围内不用填；填写后按异常签到记录）</label>
      <input id="reason-${id}" name="reason" maxlength="500" placeholder="例如：老人临时住在女儿家">
      <p><button type="submit">按输入的坐标签到</button></p></details></form>`;
  }
  function checkInLine(d) {
    const ci = d && d.check_in;
    return ci ? `已于 ${ci.at ? ci.at.slice(11, 16) : ""} 签到，距老人住址 ${ci.distance_m} 米`
      + (ci.outcome === "exception" ? `（异常签到，原因：${ci.exception_reason || ""}）` : "") + "。" : "已签到。";
  }
  function checkOutForm(o) {
    const id = o.order_id;
    return `<p class="ci-line"></p><form class="checkout" novalidate aria-label="签退">
      <label for="record-${id}">服务记录（做了哪些服务）</label>
      <textarea id="record-${id}" name="record" rows="3" maxlength="4000" placeholder="例如：送午餐一份，协助用餐，整理餐具"></textarea>
      <label for="minutes-${id}">服务时长（分钟，可不填，默认按签到到签退计算）</label>
      <input id="minutes-${id}" name="minutes" type="number" min="1" max="1440" inputmode="numeric">
      <p><button type="submit" class="primary">签退，完成服务</button></p></form>`;
  }
  function jobEl(o, d) {
    let el = jobs.get(o.order_id);
    if (!el) {
      el = document.createElement("article");
      el.className = "card job";
      el.dataset.order = o.order_id;
      el.innerHTML = `<div class="job-facts"></div><div class="job-note" hidden></div><div class="job-body"></div>`;
      jobs.set(o.order_id, el);
    }
    const facts = `<h5>${esc(o.service_name)}　${esc(when(o.window_start, o.window_end))}　<span class="state-badge s-${o.state}">${esc(o.state_label)}</span></h5>`
      + `<dl class="facts"><dt>订单号</dt><dd>${shortId(o.order_id)}</dd><dt>地址</dt><dd>${esc(o.address)}</dd>`
      + `<dt>老人住址坐标</dt><dd>纬度 ${o.lat.toFixed(4)}，经度 ${o.lon.toFixed(4)}</dd>`
      + `<dt>护理员</dt><dd>${esc(o.caregiver_name || "未指派")}</dd><dt>费用</dt><dd>${esc(o.summary)}</dd>`
      + (o.notes ? `<dt>老人留言</dt><dd>${esc(o.notes)}</dd>` : "") + "</dl>";
    if (el.dataset.facts !== facts) { el.querySelector(".job-facts").innerHTML = facts; el.dataset.facts = facts; }
    const want = o.state === "in_service" ? "out" : "in";
    if (el.dataset.body !== want) { // only a new state replaces the form (and what was typed in it)
      el.dataset.body = want;
      el.querySelector(".job-body").innerHTML = want === "out" ? checkOutForm(o) : checkInForm(o);
    }
    if (want === "out" && d) el.querySelector(".ci-line").textContent = checkInLine(d);
    return el;
  }
  let loadingSchedule = false, scheduleAgain = false;
  async function loadSchedule() {
    if (loadingSchedule) { scheduleAgain = true; return; }
    loadingSchedule = true;
    try {
      const mine = admin ? "" : `&caregiver_id=${q(me.caregiver_id || "")}`;
      const list = await Youfu.api("GET", `${O}/orders?limit=200${mine}`);
      const active = list.filter(o => o.state === "accepted" || o.state === "in_service")
        .sort((a, b) => a.window_start.localeCompare(b.window_start));
      const details = new Map();
      await Promise.all(active.filter(o => o.state === "in_service").map(async o => {
        try { details.set(o.order_id, await Youfu.api("GET", `${O}/orders/${o.order_id}`)); } catch { /* shown without the check-in line */ }
      }));
      const who = admin ? $("#schedule-who").value : "";
      const shown = active.filter(o => !who || o.caregiver_id === who);
      const groups = new Map();
      for (const o of shown) {
        const key = o.caregiver_id || "none";
        if (!groups.has(key)) groups.set(key, { name: o.caregiver_name || "未指派护理员", orders: [] });
        groups.get(key).orders.push(o);
      }
      const els = shown.map(o => jobEl(o, details.get(o.order_id)));
      const sig = JSON.stringify([...groups].map(([k, g]) => [k, g.orders.map(o => o.order_id)]));
      if (sig !== layout) { // rebuild the grouping only when it changed, so typing is never interrupted
        layout = sig;
        const frag = document.createDocumentFragment();
        for (const [key, g] of groups) {
          const box = document.createElement("div");
          box.className = "caregiver-group"; box.dataset.caregiver = key;
          box.innerHTML = `<h4>${esc(g.name)}（${g.orders.length} 单待服务）</h4>`;
          g.orders.forEach(o => box.appendChild(jobs.get(o.order_id)));
          frag.appendChild(box);
        }
        if (!groups.size) frag.appendChild(Object.assign(document.createElement("p"), { className: "muted", textContent: "现在没有待上门的订单。" }));
        $("#schedule-list").replaceChildren(frag);
      }
      for (const [id] of jobs) if (!els.some(el => el.dataset.order === id)) jobs.delete(id);
      const done = list.filter(o => (o.state === "completed" || o.state === "settled") && (o.completed_at || "").slice(0, 10) === today()
        && (!who || o.caregiver_id === who));
      $("#done-list").innerHTML = done.length ? "<ul class=\"done\">" + done.map(o => `<li>${esc(o.completed_at.slice(11, 16))} 完成　`
        + `${esc(o.service_name)}（订单号 ${shortId(o.order_id)}）　${esc(o.caregiver_name || "")}　${esc(o.state_label)}</li>`).join("") + "</ul>"
        : `<p class="muted">今天还没有完成的服务。</p>`;
      quiet("#schedule-msg");
    } catch (err) {
      say("#schedule-msg", "服务安排暂时读不出来：" + explain(err) + "页面会自动再试。");
    } finally {
      loadingSchedule = false;
      if (scheduleAgain) { scheduleAgain = false; loadSchedule(); }
    }
  }
  $("#schedule-who").addEventListener("change", () => { layout = ""; loadSchedule(); });
  function here() {
    return new Promise((resolve, reject) => {
      if (!navigator.geolocation || !window.isSecureContext) {
        reject(new Error("这个网页打不开定位（需要 https 地址）。请输入坐标签到。")); return;
      }
      navigator.geolocation.getCurrentPosition(p => resolve(p.coords), e => reject(new Error(
        e.code === 1 ? "浏览器没有定位权限。请在浏览器设置里允许本网站使用位置，或输入坐标签到。"
          : e.code === 3 ? "定位超时。请到窗边或室外再试，或输入坐标签到。" : "暂时定位不了。请稍后再试，或输入坐标签到。")),
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 });
    });
  }
  async function checkIn(el, lat, lon, reason) {
    const note = el.querySelector(".job-note"), id = el.dataset.order;
    try {
      const order = await Youfu.api("POST", `${O}/orders/${id}/check-in`, { lat, lon, reason: reason || null });
      say(note, order.message || "签到成功。", "ok");
      await loadSchedule();
    } catch (err) {
      const far = err.problem && err.problem.distance_m != null;
      say(note, "没有签到成功：" + explain(err) + (far ? "" : "请再试一次。"));
      const typed = el.querySelector("details.typed");
      if (far && typed) { typed.open = true; el.querySelector('input[name="reason"]').focus(); } // where the reason goes
    }
  }
  $("#schedule-list").addEventListener("click", async e => {
    const b = e.target.closest("button[data-act=geo]");
    if (!b) return;
    const el = b.closest(".job"), form = b.closest("form"), note = el.querySelector(".job-note");
    b.disabled = true; b.textContent = "正在定位……";
    try {
      const c = await here();
      form.lat.value = c.latitude.toFixed(6); form.lon.value = c.longitude.toFixed(6);
      await checkIn(el, c.latitude, c.longitude, form.reason.value.trim());
    } catch (err) { say(note, "没有签到成功：" + err.message); }
    finally { b.disabled = false; b.textContent = "使用当前位置签到"; }
  });
  $("#schedule-list").addEventListener("submit", async e => {
    e.preventDefault();
    const form = e.target, el = form.closest(".job"), note = el.querySelector(".job-note"), btn = form.querySelector("button[type=submit]");
    if (form.classList.contains("checkin")) {
      const lat = coord(form.lat.value, -90, 90), lon = coord(form.lon.value, -180, 180);
      if (lat === null || lon === null) { say(note, "请填写正确的纬度和经度（数字），例如纬度 32.4940、经度 119.9230；或点“使用当前位置签到”。"); return; }
      btn.disabled = true;
      try { await checkIn(el, lat, lon, form.reason.value.trim()); } finally { btn.disabled = false; }
      return;
    }
    const record = form.record.value.trim(), minutes = form.minutes.value.trim();
    if (!record) { say(note, "请先填写服务记录，写清做了哪些服务，例如：送午餐一份，协助用餐。"); return; }
    if (minutes && !(Number.isInteger(Number(minutes)) && Number(minutes) >= 1 && Number(minutes) <= 1440)) {
      say(note, "服务时长请填 1 到 1440 之间的整数（分钟），或者不填。"); return;
    }
    btn.disabled = true;
    try {
      const order = await Youfu.api("POST", `${O}/orders/${el.dataset.order}/check-out`,
        { record, duration_min: minutes ? Number(minutes) : null });
      say("#schedule-msg", `已签退，服务完成：${order.service_name}（订单号 ${shortId(order.order_id)}）。`
        + (order.state === "settled" ? "老人自费，已结清。" : "代金券结算会自动进行。"), "ok");
      await loadSchedule();
    } catch (err) { btn.disabled = false; say(note, "没有签退成功：" + explain(err) + "请再试一次。"); }
  });

  // ---- caregivers (the select for accepting, and the staff table) ----
  async function loadCaregivers() {
    try { caregivers = await Youfu.api("GET", `${P}/providers/${pid}/caregivers`); }
    catch (err) { caregivers = []; if (admin) say("#staff-msg", "护理员名单暂时读不出来：" + explain(err)); return; }
    if (admin) {
      const sel = $("#schedule-who"), keep = sel.value;
      sel.innerHTML = `<option value="">全部护理员</option>` + caregivers.map(c => `<option value="${c.id}">${esc(c.name)}</option>`).join("");
      sel.value = keep;
      renderStaff();
    }
  }
  function renderStaff() {
    Youfu.table("#staff-body", { caption: "本机构的护理员", name: "护理员名单", sheet: "护理员", rows: caregivers,
      empty: "还没有登记护理员。",
      columns: [
        { h: "姓名", v: c => c.name }, { h: "性别", v: c => c.gender === "female" ? "女" : "男" },
        { h: "会做的服务", v: c => c.skills.map(itemName).join("、"), long: true },
        { h: "职业技能等级", v: c => c.certificate_name || "无" },
        { h: "今天已接 / 每天上限", v: c => `${c.today_load} / ${c.daily_limit}` },
        { h: "评分", v: c => c.rating == null ? "暂无" : `${c.rating.toFixed(1)}（${c.rating_count} 次）` },
        { h: "状态", v: c => c.status_name || STATUS[c.status] },
        { h: "修改状态", noExport: true, html: c => `<div class="row-actions"><select aria-label="${esc(c.name)}的状态" data-status="${c.id}">`
          + Object.entries(STATUS).map(([k, v]) => `<option value="${k}"${k === c.status ? " selected" : ""}>${v}</option>`).join("")
          + `</select><button type="button" data-save-caregiver="${c.id}" aria-label="保存${esc(c.name)}的状态">保存</button></div>` },
      ] });
  }
  $("#staff-body").addEventListener("click", async e => {
    const b = e.target.closest("button[data-save-caregiver]");
    if (!b) return;
    const status = document.querySelector(`select[data-status="${b.dataset.saveCaregiver}"]`).value;
    b.disabled = true;
    try {
      const c = await Youfu.api("PATCH", `${P}/caregivers/${b.dataset.saveCaregiver}`, { status });
      await loadCaregivers();
      say("#staff-msg", `已保存：${c.name} 现在是“${c.status_name || STATUS[c.status]}”。` + (c.status === "active" ? "" : "不在岗的护理员不会被派单。"), "ok");
    } catch (err) { b.disabled = false; say("#staff-msg", "没有保存成功：" + explain(err)); }
  });
  $("#caregiver-form").addEventListener("submit", async e => {
    e.preventDefault();
    const name = $("#cg-name").value.trim();
    const skills = [...document.querySelectorAll('#cg-skills input:checked')].map(x => x.value);
    const lat = coord($("#cg-lat").value, -90, 90), lon = coord($("#cg-lon").value, -180, 180);
    const typed = $("#cg-lat").value.trim() || $("#cg-lon").value.trim(), address = $("#cg-address").value.trim();
    const problems = [];
    if (!name) problems.push("请填写姓名");
    if (!skills.length) problems.push("请至少勾选一项会做的服务");
    if (typed && (lat === null || lon === null)) problems.push("常驻地点的纬度、经度要都填数字（或都空着、改填地址）");
    if (!typed && address.length < 2) problems.push("请填写常驻地点的坐标，或填写出发地地址");
    if (problems.length) { say("#staff-msg", problems.join("；") + "。"); return; }
    const body = { name, gender: $("#cg-gender").value, skills,
      service_radius_m: Math.round(Number($("#cg-radius").value || 5) * 1000), daily_limit: Number($("#cg-limit").value || 8) };
    if (typed) Object.assign(body, { base_lat: lat, base_lon: lon }); else body.base_address = address;
    if ($("#cg-level").value) body.certificate_level = $("#cg-level").value;
    const btn = e.target.querySelector("button[type=submit]");
    btn.disabled = true;
    try {
      const c = await Youfu.api("POST", `${P}/providers/${pid}/caregivers`, body);
      $("#cg-name").value = ""; $("#cg-address").value = "";
      document.querySelectorAll("#cg-skills input").forEach(x => { x.checked = false; });
      await loadCaregivers();
      say("#staff-msg", `已登记护理员 ${c.name}，会做：${c.skills.map(itemName).join("、")}。`
        + (c.geocoded ? `出发地按地址估算在“${c.geocoded.matched}”附近（${c.geocoded.source === "gazetteer" ? "大致位置" : "地图定位"}）。` : ""), "ok");
    } catch (err) { say("#staff-msg", "没有登记成功：" + explain(err)); }
    finally { btn.disabled = false; }
  });

  // ---- catalogue ----
  let catalogue = [];
  async function loadCatalogue() {
    try { catalogue = await Youfu.api("GET", `${P}/providers/${pid}/catalogue`); }
    catch (err) { say("#catalogue-msg", "服务项目暂时读不出来：" + explain(err)); return; }
    const guide = code => (items.find(i => i.code === code) || {}).guide_price_fen;
    Youfu.table("#catalogue-body", { caption: "本机构的服务项目", name: "服务项目", sheet: "服务项目", rows: catalogue,
      empty: "还没有服务项目，请在下面添加。",
      columns: [
        { h: "服务项目", v: r => r.name }, { h: "单位", v: r => r.unit_name },
        { h: "价格（元）", v: r => r.price_fen, money: true }, { h: "指导价（元）", v: r => guide(r.service_code), money: true },
        { h: "可用券", v: r => r.voucher_kinds.length ? r.voucher_kinds.map(k => VOUCHERS[k] || k).join("、") : "不可用券" },
        { h: "状态", v: r => r.active ? "接单中" : "已下架" },
        { h: "修改", noExport: true, html: r => `<div class="row-actions">`
          + `<input aria-label="${esc(r.name)}的价格（元）" data-price="${r.id}" value="${yuan(r.price_fen)}" inputmode="decimal">`
          + `<label class="check"><input type="checkbox" data-active="${r.id}"${r.active ? " checked" : ""}> 接单中</label>`
          + `<button type="button" data-save-item="${r.id}" aria-label="保存${esc(r.name)}">保存</button></div>` },
      ] });
    const have = new Set(catalogue.map(c => c.service_code));
    const free = items.filter(i => !have.has(i.code));
    $("#item-code").innerHTML = free.map(i => `<option value="${i.code}">${esc(i.name)}（指导价 ${yuan(i.guide_price_fen)} 元/${esc(i.unit_name)}）</option>`).join("");
    $("#item-form").hidden = !free.length;
    if (free.length && !$("#item-price").value) $("#item-price").value = yuan(free[0].guide_price_fen);
  }
  $("#item-code").addEventListener("change", () => {
    const it = items.find(i => i.code === $("#item-code").value);
    if (it) $("#item-price").value = yuan(it.guide_price_fen);
  });
  $("#catalogue-body").addEventListener("click", async e => {
    const b = e.target.closest("button[data-save-item]");
    if (!b) return;
    const id = b.dataset.saveItem, row = catalogue.find(r => r.id === id);
    const fen = toFen(document.querySelector(`input[data-price="${id}"]`).value);
    if (fen === null) { say("#catalogue-msg", `“${row.name}”的价格请填数字，单位是元，例如 15 或 15.50。`); return; }
    const active = document.querySelector(`input[data-active="${id}"]`).checked;
    b.disabled = true;
    try {
      const r = await Youfu.api("PATCH", `${P}/providers/${pid}/catalogue/${id}`, { price_fen: fen, active });
      await loadCatalogue();
      say("#catalogue-msg", `已保存：${r.name}，价格 ${yuan(r.price_fen)} 元，${r.active ? "接单中" : "已下架（不会再派这项服务的单）"}。`, "ok");
    } catch (err) { b.disabled = false; say("#catalogue-msg", `“${row.name}”没有保存成功：` + explain(err)); }
  });
  $("#item-form").addEventListener("submit", async e => {
    e.preventDefault();
    const fen = toFen($("#item-price").value), code = $("#item-code").value;
    if (!code) return;
    if (fen === null) { say("#catalogue-msg", "价格请填数字，单位是元，例如 15 或 15.50。"); return; }
    const body = { service_code: code, price_fen: fen };
    if (!$("#item-voucher").checked) body.voucher_kinds = [];
    const btn = e.target.querySelector("button[type=submit]");
    btn.disabled = true;
    try {
      const r = await Youfu.api("POST", `${P}/providers/${pid}/catalogue`, body);
      $("#item-price").value = "";
      await loadCatalogue();
      say("#catalogue-msg", `已添加：${r.name}，价格 ${yuan(r.price_fen)} 元。`, "ok");
    } catch (err) { say("#catalogue-msg", "没有添加成功：" + explain(err)); }
    finally { btn.disabled = false; }
  });

  // ---- monthly statement ----
  async function loadStatement() {
    const month = $("#statement-month").value;
    quiet("#statement-msg");
    const [settlements, orders] = await Promise.all([
      Youfu.api("GET", `${V}/settlements?month=${q(month)}&provider_id=${q(pid)}`).catch(err => { say("#statement-msg", "结算单暂时读不出来：" + explain(err)); return null; }),
      Youfu.api("GET", `${O}/orders?limit=500`).catch(() => null)]);
    if (settlements) {
      Youfu.table("#statement-body", { caption: `${month} 结算单`, name: `结算单-${month}`, sheet: "结算单", rows: settlements,
        empty: "这个月还没有结算单（月末由民政部门生成）。",
        exportPath: fmt => `${V}/settlements?month=${q(month)}&provider_id=${q(pid)}&format=${fmt}`,
        columns: [
          { h: "月份", v: s => s.month }, { h: "状态", v: s => SETTLEMENT_STATUS[s.status] || s.status },
          { h: "服务笔数", v: s => s.redemption_count }, { h: "核销金额（元）", v: s => s.redeemed_fen, money: true },
          { h: "冲正金额（元）", v: s => s.reversed_fen, money: true }, { h: "应付净额（元）", v: s => s.net_fen, money: true },
        ] });
      const lines = settlements.flatMap(s => s.lines.map(l => ({ ...l, month: s.month })));
      $("#statement-lines").hidden = !lines.length;
      if (lines.length) {
        Youfu.table("#statement-lines", { caption: `${month} 结算明细（按服务项目和券种）`, name: `结算明细-${month}`, sheet: "结算明细", rows: lines,
          columns: [{ h: "服务项目", v: l => itemName(l.service_code) }, { h: "券种", v: l => l.kind_name },
            { h: "服务笔数", v: l => l.redemption_count }, { h: "核销金额（元）", v: l => l.redeemed_fen, money: true },
            { h: "冲正金额（元）", v: l => l.reversed_fen, money: true }, { h: "净额（元）", v: l => l.net_fen, money: true }] });
      }
    }
    if (orders) {
      const done = orders.filter(o => (o.state === "completed" || o.state === "settled") && (o.completed_at || "").slice(0, 7) === month);
      const by = new Map();
      for (const o of done) {
        const r = by.get(o.service_name) || { name: o.service_name, count: 0, price: 0, voucher: 0, elder: 0 };
        r.count += 1; r.price += o.price_fen; r.voucher += o.voucher_fen; r.elder += o.elder_fen;
        by.set(o.service_name, r);
      }
      const rows = [...by.values()];
      if (rows.length) rows.push(rows.reduce((t, r) => ({ name: "合计", count: t.count + r.count, price: t.price + r.price,
        voucher: t.voucher + r.voucher, elder: t.elder + r.elder }), { name: "合计", count: 0, price: 0, voucher: 0, elder: 0 }));
      Youfu.table("#statement-orders", { caption: `${month} 已完成订单汇总`, name: `已完成订单汇总-${month}`, sheet: "订单汇总", rows,
        empty: "这个月还没有完成的订单。",
        columns: [{ h: "服务项目", v: r => r.name }, { h: "订单数", v: r => r.count }, { h: "订单金额（元）", v: r => r.price, money: true },
          { h: "代金券支付（元）", v: r => r.voucher, money: true }, { h: "老人自付（元）", v: r => r.elder, money: true }] });
    }
  }
  $("#statement-form").addEventListener("submit", e => { e.preventDefault(); if ($("#statement-month").value) loadStatement(); });

  // ---- the schedule from care plans (orders service): what the plans hold for this provider ----
  const OCCURRENCE_STATES = { planned: "待生成订单", placed: "已下单", offered: "派单中", accepted: "已接单", in_service: "服务中",
    completed: "已完成", settled: "已结算", cancelled: "已取消", unmatched: "未派出" };
  async function loadPlanSchedule() {
    const from = today(), to = dayFmt.format(new Date(Date.now() + 13 * 864e5));
    try {
      const rows = Youfu.rows(await Youfu.api("GET", `${O}/plan-schedule?provider_id=${q(pid)}&from=${from}&to=${to}`));
      const day = r => String(r.at || "").slice(0, 10), time = r => String(r.at || "").slice(11, 16);
      rows.sort((a, b) => (day(a) + time(a)).localeCompare(day(b) + time(b)));
      Youfu.table("#plan-schedule-body", { caption: `${from} 至 ${to} 护理计划排班`, name: `护理计划排班-${from}`, sheet: "计划排班", rows,
        empty: "未来 14 天没有护理计划安排的上门服务。",
        columns: [
          { h: "日期", v: r => day(r) }, { h: "时间", v: r => time(r) },
          { h: "服务", v: r => r.service_name || itemName(r.service_code) },
          { h: "时长（分钟）", v: r => r.duration_min ?? "" },
          { h: "老人", v: r => r.elder_name || (r.elder_id ? `编号 ${shortId(r.elder_id)}` : "") },
          { h: "地址", v: r => r.address || "", long: true },
          { h: "状态", v: r => OCCURRENCE_STATES[r.order_state || "planned"] || r.order_state },
        ] });
      quiet("#plan-schedule-msg");
    } catch (err) { say("#plan-schedule-msg", "护理计划排班暂时读不出来：" + explain(err)); }
  }

  // ---- start ----
  (async () => {
    if (!pid) {
      say("#page-msg", "您的账号还没有关联服务机构，暂时不能使用工作台。请联系机构管理员，或拨打服务热线 88012349。");
      document.querySelectorAll("main > section, main > nav").forEach(x => { x.hidden = true; });
      return;
    }
    try { provider = await Youfu.api("GET", `${P}/providers/${pid}`); } catch { provider = null; }
    if (provider) $("#provider-name").textContent = admin ? provider.name : `${provider.name} · ${me.display_name}`;
    try { items = await Youfu.api("GET", `${P}/service-items`); } catch { items = []; }
    await loadCaregivers();
    const tasks = [loadOffers(), loadSchedule(), loadPlanSchedule()];
    if (admin) {
      $("#cg-skills").innerHTML = items.map(i => `<label class="check"><input type="checkbox" value="${i.code}"> ${esc(i.name)}</label>`).join("");
      if (provider && provider.lat != null) { $("#cg-lat").value = provider.lat.toFixed(6); $("#cg-lon").value = provider.lon.toFixed(6); }
      $("#statement-month").value = Youfu.month(); $("#statement-month").max = Youfu.month();
      tasks.push(loadCatalogue(), loadStatement());
    }
    await Promise.all(tasks);
    document.body.setAttribute("data-loaded", "true");
    setInterval(tick, 1000);
    setInterval(() => { if (!document.hidden) loadOffers(); }, 5000);
    if (window.youfuNotices) youfuNotices.on("order.offered", () => loadOffers());  // a new offer, live (notices.js)
    setInterval(() => { if (!document.hidden) loadSchedule(); }, 10000);
  })();
})();
