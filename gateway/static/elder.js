// The elder and family page: choose the elder, order from the catalogue (the voucher split from
// the quote endpoint shown before confirming), follow the orders as they move, confirm and rate,
// this month's vouchers, recurring meals, and a notice of changes other bureaus' lists made to the
// record. Plain words, big targets, one column on a phone.
(() => {
  const O = "/api/orders", P = "/api/providers", V = "/api/vouchers", A = "/api/assessment";
  const $ = s => document.querySelector(s);
  const esc = s => Youfu.esc(s);
  const yuan = fen => Youfu.yuan(fen || 0);
  const HELP = "需要帮助请拨打服务热线 88012349。";
  const VOUCHERS = { community: "社区照护券", mutual_aid: "邻里互助券", institutional: "机构托养券" };
  const SLOTS = [["08:00", "10:00", "上午"], ["11:00", "12:00", "中午"], ["14:00", "16:00", "下午"], ["17:00", "18:00", "傍晚"]];
  const WEEK = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
  const REFRESH_MS = 4000;
  const STATE_TEXT = {
    placed: "正在为您联系附近的服务商，请稍等。",
    offered: "正在为您联系附近的服务商，请稍等。",
    unmatched: "附近暂时没有服务商接单，系统过一会儿会再找。着急请拨打 88012349。",
    accepted: "服务商已接单，护理员会按约定时间上门。",
    in_service: "护理员已到家，正在服务。",
    completed: "服务已完成，请您确认并打分。",
    settled: "服务已完成，费用已结清。",
    cancelled: "这个订单已取消。",
    disputed: "您对这次服务有异议，工作人员正在处理，会打电话联系您。",
  };
  const STEPS = [["已下单", ["placed", "offered", "unmatched"]], ["已接单", ["accepted"]], ["服务中", ["in_service"]],
    ["已完成", ["completed", "settled", "disputed"]]];
  const RATING_WORDS = { 1: "很不满意", 2: "不满意", 3: "一般", 4: "满意", 5: "非常满意" };

  function allowed() { // requireRole's wording is for staff pages; this one speaks to everybody else plainly
    const who = Youfu.me();
    if (!Youfu.token() || !who || ["elder", "family"].includes(who.role)) return Youfu.requireRole(["elder", "family"], "");
    const home = HOME_BY_ROLE[who.role], box = $("#message");
    box.className = "notice error"; box.setAttribute("role", "alert"); box.hidden = false;
    box.innerHTML = "这个页面是给老人和家属预约服务用的，您当前的账号不能使用。"
      + (home ? `请回到<a href="${home}">您的首页</a>。` : `请<a href="/login">换一个账号登录</a>。`);
    return null;
  }
  const me = allowed();
  if (!me) { document.querySelectorAll("main > section, main > nav").forEach(x => { x.hidden = true; }); return; }

  let elders = [], elder = null, items = [], wallet = null, current = null;
  let pendingKey = null, placing = false, quoteSeq = 0;
  const cards = new Map(), details = new Map(), lastState = new Map();

  const say = (sel, text, kind = "error") => {
    const box = typeof sel === "string" ? $(sel) : sel;
    if (box.dataset.keep === undefined) box.dataset.keep = box.className; // Youfu.show replaces the class
    Youfu.show(box, text, kind);
    if (box.dataset.keep) box.classList.add(...box.dataset.keep.split(" "));
    if (kind === "ok") box.setAttribute("role", "status");
  };
  const quiet = sel => { $(sel).hidden = true; };
  const explain = err => err.status === 0 ? "网络连接中断了，请检查手机网络后再试。"
    : err.status >= 500 ? "服务暂时出了问题，请过几分钟再试。" + HELP
    : Youfu.explain(err).replace(/[。.]?$/, "。");

  // ---- dates in Beijing time ----
  const dayFmt = new Intl.DateTimeFormat("en-CA", { timeZone: Youfu.TZ });
  const weekFmt = new Intl.DateTimeFormat("zh-CN", { timeZone: Youfu.TZ, weekday: "short" });
  const dateIn = days => dayFmt.format(new Date(Date.now() + days * 864e5));
  const dayName = ds => { const [, m, d] = ds.split("-").map(Number); return `${m}月${d}日 ${weekFmt.format(new Date(`${ds}T12:00:00+08:00`))}`; };
  const relDay = ds => ({ [dateIn(-1)]: "昨天", [dateIn(0)]: "今天", [dateIn(1)]: "明天", [dateIn(2)]: "后天" })[ds];
  function whenText(start, end) { // "明天（3月12日 周四）11:00–12:00"
    const ds = start.slice(0, 10), rel = relDay(ds);
    return `${rel ? `${rel}（${dayName(ds)}）` : dayName(ds)} ${start.slice(11, 16)}–${end.slice(11, 16)}`;
  }
  const atText = iso => `${relDay(iso.slice(0, 10)) || dayName(iso.slice(0, 10))} ${iso.slice(11, 16)}`;
  const shortId = id => String(id).slice(0, 8);

  // ---- the elder ----
  async function loadElders() {
    let ids = me.elder_ids && me.elder_ids.length ? me.elder_ids : (me.elder_id ? [me.elder_id] : []);
    try {
      const fresh = await Youfu.api("GET", "/api/auth/me");
      sessionStorage.setItem("yf.me", JSON.stringify(fresh));
      if (fresh.elder_ids && fresh.elder_ids.length) ids = fresh.elder_ids;
    } catch { /* the signed-in copy is good enough */ }
    if (!ids.length) {
      say("#page-msg", "您的账号还没有关联老人，暂时不能预约。请老人本人到社区办理关联，或" + HELP);
      document.querySelectorAll("main > section, main > nav").forEach(x => { x.hidden = true; });
      return false;
    }
    elders = await Promise.all(ids.map(async id => {
      try { return await Youfu.api("GET", `${A}/elders/${id}`); } catch { return { id, name: "老人（编号 " + shortId(id) + "）" }; }
    }));
    const saved = sessionStorage.getItem("yf.elder");
    elder = elders.find(e => e.id === saved) || elders[0];
    const box = $("#elder-choice");
    box.hidden = elders.length < 2;
    box.innerHTML = elders.map(e => `<button type="button" data-elder="${esc(e.id)}">为${esc(e.name)}预约</button>`).join("");
    showElder();
    return true;
  }
  function showElder() {
    $("#elder-name").textContent = elder.name;
    $("#elder-address").textContent = elder.address ? `上门地址：${elder.address}` : "";
    document.querySelectorAll("#elder-choice button").forEach(b => b.setAttribute("aria-pressed", String(b.dataset.elder === elder.id)));
  }
  $("#elder-choice").addEventListener("click", e => {
    const b = e.target.closest("button[data-elder]");
    if (!b || b.dataset.elder === elder.id) return;
    elder = elders.find(x => x.id === b.dataset.elder);
    wallet = null;
    sessionStorage.setItem("yf.elder", elder.id);
    showElder();
    closeOrder();
    cards.clear(); details.clear(); lastState.clear(); $("#order-list").innerHTML = "";
    loadAll();
  });

  // ---- catalogue ----
  async function loadCatalogue() {
    try { items = await Youfu.api("GET", `${P}/service-items`); }
    catch (err) { $("#catalogue").innerHTML = ""; say("#page-msg", "服务目录暂时读不出来：" + explain(err) + "请稍后刷新页面。"); return; }
    const groups = new Map();
    for (const it of items) {
      if (!groups.has(it.category_name)) groups.set(it.category_name, []);
      groups.get(it.category_name).push(it);
    }
    const names = [...groups.keys()];
    $("#catalogue").innerHTML = `<div class="category-tabs" role="group" aria-label="服务类别">`
      + names.map((n, k) => `<button type="button" data-category="${esc(n)}" aria-pressed="${k === 0}">${esc(n)}</button>`).join("")
      + "</div>" + [...groups].map(([name, list], k) => `<div class="category" data-category="${esc(name)}"${k ? " hidden" : ""}>`
      + `<h3>${esc(name)}</h3><div class="grid">`
      + list.map(it => `<article class="item-card card" data-code="${esc(it.code)}"><h4>${esc(it.name)}</h4>`
        + `<p class="price">${yuan(it.guide_price_fen)} 元 / ${esc(it.unit_name)}</p>`
        + `<p>${it.voucher_kinds.length ? "可用" + it.voucher_kinds.map(k => VOUCHERS[k] || k).join("、") : "不能用代金券"}</p>`
        + (it.unit === "per_month" ? `<p>按月办理，请拨打 88012349 联系社区。</p>`
          : `<button type="button" class="primary" data-order-item="${esc(it.code)}">预约${esc(it.name)}</button>`)
        + "</article>").join("") + "</div></div>").join("");
    mealForm();
  }
  $("#catalogue").addEventListener("click", e => {
    const tab = e.target.closest("button[data-category]");
    if (tab) {
      document.querySelectorAll("#catalogue .category-tabs button").forEach(x => x.setAttribute("aria-pressed", String(x === tab)));
      document.querySelectorAll("#catalogue .category").forEach(x => { x.hidden = x.dataset.category !== tab.dataset.category; });
      return;
    }
    const b = e.target.closest("button[data-order-item]");
    if (b) openOrder(items.find(i => i.code === b.dataset.orderItem));
  });

  // ---- ordering ----
  function radio(name, value, text, { checked = false, disabled = false } = {}) {
    return `<label class="choice"><input type="radio" name="${name}" value="${esc(value)}"${checked ? " checked" : ""}${disabled ? " disabled" : ""}> <span>${text}</span></label>`;
  }
  const checked = (form, name) => { const x = form.querySelector(`input[name="${name}"]:checked`); return x ? x.value : null; };
  function payChoices(box, item, name) {
    const kinds = item.voucher_kinds.filter(k => wallet && wallet.vouchers.some(v => v.kind === k && v.available_fen > 0));
    box.innerHTML = kinds.map((k, i) => {
      const v = wallet.vouchers.find(x => x.kind === k);
      return radio(name, k, `用${VOUCHERS[k] || k}（本月还可用 ${yuan(v.available_fen)} 元）`, { checked: i === 0 });
    }).join("") + radio(name, "self_pay", "自己付钱，不用代金券", { checked: !kinds.length })
      + (kinds.length ? "" : wallet ? `<p class="note">本月没有能用在这项服务上的代金券，只能自己付钱。</p>`
        : `<p class="note">代金券余额暂时读不出来，可以先选自己付钱，或稍后刷新页面再预约。</p>`);
  }
  function openOrder(item) {
    current = item;
    pendingKey = null;
    const form = $("#order-form");
    $("#order-form-title").textContent = `预约${item.name}`;
    $("#order-item-price").textContent = `价格：${yuan(item.guide_price_fen)} 元 / ${item.unit_name}`;
    const days = [0, 1, 2].map(k => dateIn(k));
    $("#order-days").innerHTML = days.map((d, k) => radio("day", d, `${["今天", "明天", "后天"][k]}（${dayName(d)}）`)).join("")
      + radio("day", "other", "其他日子");
    $("#order-date").min = dateIn(0);
    $("#order-date").value = dateIn(3);
    payChoices($("#order-pay"), item, "pay");
    $("#order-notes").value = "";
    $("#order-where").textContent = elder.address ? `服务人员会到：${elder.address}` : "";
    quiet("#order-msg");
    form.hidden = false;
    $("#catalogue").hidden = true; $("#order-intro").hidden = true;
    const firstOpen = slotsFor(days[0]).some(s => !s.past) ? days[0] : days[1];
    form.querySelector(`input[name="day"][value="${firstOpen}"]`).checked = true;
    showSlots();
    quote();
    $("#order-form-title").focus();
    form.scrollIntoView({ behavior: "smooth", block: "start" });
  }
  function closeOrder() {
    $("#order-form").hidden = true; current = null; pendingKey = null;
    $("#catalogue").hidden = false; $("#order-intro").hidden = false;
  }
  function chosenDay() {
    const d = checked($("#order-form"), "day");
    $("#other-day").hidden = d !== "other";
    return d === "other" ? $("#order-date").value : d;
  }
  function slotsFor(day) {
    const now = Date.now();
    return SLOTS.map(([from, to, part]) => ({ from, to, part, past: !day || new Date(`${day}T${from}:00+08:00`).getTime() <= now }));
  }
  function showSlots() {
    const day = chosenDay(), before = checked($("#order-form"), "slot");
    const slots = slotsFor(day);
    const preferred = current && current.code === "meal" ? "11:00" : null;
    const keep = slots.find(s => s.from === before && !s.past) || slots.find(s => s.from === preferred && !s.past)
      || slots.find(s => !s.past);
    $("#order-slots").innerHTML = slots.map(s => radio("slot", s.from, `${s.part} ${s.from}–${s.to}${s.past ? "（已过）" : ""}`,
      { checked: keep === s, disabled: s.past })).join("")
      + (keep ? "" : `<p class="note">这一天已经没有可选的时间了，请换一天。</p>`);
  }
  async function quote() {
    const seq = ++quoteSeq, box = $("#quote"), pay = checked($("#order-form"), "pay"), btn = $("#order-confirm");
    const price = current.guide_price_fen;
    if (pay === "self_pay") { box.innerHTML = `<span id="quote-split">不用代金券，自付 ${yuan(price)} 元</span>`; btn.disabled = false; return; }
    box.textContent = "正在计算要付多少钱……";
    btn.disabled = true;
    try {
      const q = await Youfu.api("POST", `${V}/quotes`, { elder_id: elder.id, kind: pay, price_fen: price });
      if (seq !== quoteSeq) return;
      box.innerHTML = `<span id="quote-split">代金券支付 ${yuan(q.voucher_fen)} 元，自付 ${yuan(q.elder_fen)} 元</span>`
        + `<span class="detail">服务价格 ${yuan(q.price_fen)} 元；确认后先从代金券里预留，服务完成才真正扣款。</span>`;
      btn.disabled = false;
    } catch (err) {
      if (seq !== quoteSeq) return;
      box.textContent = "暂时算不出要付多少钱：" + explain(err) + "可以过一会儿再试，或选“自己付钱”。";
    }
  }
  $("#order-form").addEventListener("change", e => {
    pendingKey = null; // a changed order is a new confirmation
    if (e.target.name === "day" || e.target.id === "order-date") showSlots();
    if (e.target.name === "pay") quote();
  });
  $("#order-notes").addEventListener("input", () => { pendingKey = null; });
  $("#order-back").addEventListener("click", () => { closeOrder(); $("#order").scrollIntoView({ block: "start" }); });
  $("#order-form").addEventListener("submit", async e => {
    e.preventDefault();
    if (placing || !current) return; // a second tap while the first is on its way does nothing
    const form = $("#order-form"), day = chosenDay(), slot = checked(form, "slot"), pay = checked(form, "pay");
    if (!day || !slot) { say("#order-msg", "请先选好哪一天、什么时间上门。"); return; }
    const end = SLOTS.find(s => s[0] === slot)[1];
    const body = { elder_id: elder.id, service_code: current.code, payment: pay,
      window_start: `${day}T${slot}:00+08:00`, window_end: `${day}T${end}:00+08:00`, notes: $("#order-notes").value.trim() };
    if (!pendingKey) pendingKey = Youfu.uuid(); // one key per confirmation: a retry or double tap makes one order
    placing = true;
    const btn = $("#order-confirm");
    btn.disabled = true; btn.textContent = "正在下单……";
    quiet("#order-msg");
    try {
      const order = await Youfu.api("POST", `${O}/orders`, body, { idempotencyKey: pendingKey });
      closeOrder();
      say("#page-msg", `下单成功！${order.service_name}，${whenText(order.window_start, order.window_end)}，订单号 ${shortId(order.order_id)}。`
        + `${order.summary}。正在为您联系服务商，接单后下面“我的订单”里会显示护理员的名字。`, "ok");
      $("#page-msg").dataset.order = order.order_id;
      $("#page-msg").scrollIntoView({ block: "start" });
      await Promise.all([loadOrders(), loadWallet()]);
    } catch (err) {
      say("#order-msg", "没有下单成功：" + explain(err) + (err.status === 0 ? "再点一次“确认下单”不会重复下单。" : ""));
    } finally {
      placing = false; btn.disabled = false; btn.textContent = "确认下单";
    }
  });

  // ---- following the orders ----
  function progress(state) {
    if (state === "cancelled") return "";
    const at = STEPS.findIndex(([, states]) => states.includes(state));
    return `<ol class="progress" aria-label="订单进度">` + STEPS.map(([label], k) =>
      `<li class="${k < at || (k === at && state === "settled") ? "done" : ""}${k === at ? " now" : ""}"${k === at ? ' aria-current="step"' : ""}>${label}</li>`).join("") + "</ol>";
  }
  function statusHtml(o) {
    const d = details.get(o.order_id) || o;
    const facts = [["订单号", shortId(o.order_id)], ["费用", d.summary]];
    if (d.provider_name) facts.push(["服务商", d.provider_name]);
    if (d.caregiver_name) facts.push(["护理员", d.caregiver_name]);
    if (d.check_in && d.check_in.at) facts.push(["到达时间", `${atText(d.check_in.at)} 签到`]);
    if (d.check_out && d.check_out.at) facts.push(["完成时间", atText(d.check_out.at) + (d.check_out.duration_min ? `（服务 ${d.check_out.duration_min} 分钟）` : "")]);
    if (d.check_out && d.check_out.record) facts.push(["服务内容", d.check_out.record]);
    if (d.notes) facts.push(["您的留言", d.notes]);
    if (d.cancel_reason && o.state === "cancelled") facts.push(["取消原因", d.cancel_reason]);
    let text = STATE_TEXT[o.state] || "";
    if (o.state === "accepted" && d.caregiver_name) text = `护理员 ${d.caregiver_name} 会按约定时间上门。`;
    if (o.state === "in_service" && d.caregiver_name) text = `护理员 ${d.caregiver_name} 已到家，正在服务。`;
    if ((o.state === "completed" || o.state === "settled") && d.review) text = o.state === "settled" ? "服务已完成，费用已结清。谢谢您的评价。" : "服务已完成，谢谢您的评价。";
    return `<h3>${esc(o.service_name)}　${esc(whenText(o.window_start, o.window_end))}</h3>`
      + `<p class="state-line"><span class="state-badge s-${esc(o.state)}">${esc(o.state_label)}</span> ${esc(text)}</p>`
      + progress(o.state)
      + `<dl class="facts">${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("")}</dl>`;
  }
  function reviewForm(o) {
    const id = o.order_id;
    return `<form class="review-form" data-review="${id}" novalidate>
      <p class="label-like" id="rate-title-${id}">这次服务您满意吗？请点一个分数：</p>
      <div class="stars" role="group" aria-labelledby="rate-title-${id}">
        ${[1, 2, 3, 4, 5].map(n => `<button type="button" data-rate="${n}" aria-pressed="false">${n} 分</button>`).join("")}
      </div>
      <p class="rate-word" aria-live="polite">5 分是非常满意，1 分是很不满意。</p>
      <label for="comment-${id}">想说的话（可不填）</label>
      <textarea id="comment-${id}" rows="2" maxlength="1000" placeholder="例如：饭菜热乎，准时"></textarea>
      <div class="review-msg" hidden></div>
      <p><button type="submit" class="primary">提交评价</button></p></form>`;
  }
  const reviewDone = r => `<p class="notice ok" role="status">您的评价：${"★".repeat(r.rating)}${"☆".repeat(5 - r.rating)} ${r.rating} 分（${RATING_WORDS[r.rating]}）`
    + (r.comment ? `，“${esc(r.comment)}”` : "") + "。谢谢您！</p>";
  const CANCELLABLE = ["placed", "offered", "unmatched", "accepted"];
  function actionsFor(el, o) {
    const d = details.get(o.order_id);
    const slot = el.querySelector(".order-actions");
    let want = "";
    if ((o.state === "completed" || o.state === "settled") && d) want = d.review ? "reviewed" : "review";
    else if (CANCELLABLE.includes(o.state)) want = "cancel";
    if (slot.dataset.kind === want) return; // keep what the person is typing
    slot.dataset.kind = want;
    slot.innerHTML = want === "review" ? reviewForm(o) : want === "reviewed" ? reviewDone(d.review)
      : want === "cancel" ? `<p><button type="button" data-cancel="${o.order_id}">取消这个订单</button></p>` : "";
  }
  function render(list) {
    const box = $("#order-list");
    if (!list.length) { box.innerHTML = `<p class="muted">还没有订单。在上面“预约服务”里选一项服务就能下单。</p>`; cards.clear(); return; }
    box.querySelector(":scope > p.muted")?.remove();
    const seen = new Set();
    for (const o of list) {
      seen.add(o.order_id);
      let el = cards.get(o.order_id);
      if (!el) {
        el = document.createElement("article");
        el.className = "order-card card";
        el.dataset.order = o.order_id;
        el.innerHTML = `<div class="order-status"></div><div class="order-actions" data-kind="none"></div>`;
        cards.set(o.order_id, el);
      }
      el.dataset.state = o.state;
      const html = statusHtml(o);
      if (el.dataset.html !== html) { el.querySelector(".order-status").innerHTML = html; el.dataset.html = html; }
      actionsFor(el, o);
      box.appendChild(el); // keeps the newest first; moving a node keeps its form as typed
    }
    for (const [id, el] of cards) if (!seen.has(id)) { el.remove(); cards.delete(id); }
  }
  let loadingOrders = false, ordersAgain = false;
  async function loadOrders() {
    if (!elder) return;
    if (loadingOrders) { ordersAgain = true; return; } // one more round after this one: it may predate a change
    loadingOrders = true;
    try {
      const asked = elder.id;
      const list = await Youfu.api("GET", `${O}/orders?elder_id=${encodeURIComponent(asked)}&limit=20`);
      if (asked !== elder.id) { ordersAgain = true; return; } // another elder was chosen meanwhile
      const need = list.filter(o => o.state !== "cancelled").slice(0, 6)
        .filter(o => { const d = details.get(o.order_id); return !d || d.state !== o.state || !(o.state === "settled" && d.review); });
      await Promise.all(need.map(async o => {
        try { details.set(o.order_id, await Youfu.api("GET", `${O}/orders/${o.order_id}`)); } catch { /* the list row still shows */ }
      }));
      if (asked !== elder.id) { ordersAgain = true; return; }
      for (const o of list) { // a detail older than the list row is dropped; a fresher one is believed
        const d = details.get(o.order_id);
        if (!d || d.state === o.state) continue;
        if (need.includes(o)) Object.assign(o, { state: d.state, state_label: d.state_label });
        else details.delete(o.order_id);
      }
      let moved = false;
      for (const o of list) { if (lastState.has(o.order_id) && lastState.get(o.order_id) !== o.state) moved = true; lastState.set(o.order_id, o.state); }
      render(list);
      quiet("#orders-msg");
      if (moved) { loadWallet(); if ($("#plan-delivery")) loadDelivery(); }
    } catch (err) {
      say("#orders-msg", "订单暂时读不出来：" + explain(err) + "页面会自动再试。");
    } finally {
      loadingOrders = false;
      if (ordersAgain) { ordersAgain = false; loadOrders(); }
    }
  }
  $("#order-list").addEventListener("click", async e => {
    const star = e.target.closest("button[data-rate]");
    if (star) {
      const form = star.closest("form");
      form.querySelectorAll("button[data-rate]").forEach(b => b.setAttribute("aria-pressed", String(b === star)));
      form.dataset.rating = star.dataset.rate;
      form.querySelector(".rate-word").textContent = `您选了 ${star.dataset.rate} 分：${RATING_WORDS[star.dataset.rate]}。`;
      return;
    }
    const cancel = e.target.closest("button[data-cancel]");
    if (cancel) {
      const slot = cancel.closest(".order-actions");
      slot.dataset.kind = "confirm-cancel";
      slot.innerHTML = `<p class="label-like">确定要取消这个订单吗？预留的代金券会退回。</p><p class="actions">`
        + `<button type="button" class="primary" data-cancel-yes="${cancel.dataset.cancel}">确定取消</button>`
        + `<button type="button" data-cancel-no>不取消</button></p><div class="cancel-msg" hidden></div>`;
      return;
    }
    if (e.target.closest("button[data-cancel-no]")) { e.target.closest(".order-actions").dataset.kind = ""; loadOrders(); return; }
    const yes = e.target.closest("button[data-cancel-yes]");
    if (yes) {
      yes.disabled = true;
      try {
        await Youfu.api("POST", `${O}/orders/${yes.dataset.cancelYes}/cancel`, { reason: me.role === "family" ? "家属取消" : "老人取消" });
        yes.closest(".order-actions").dataset.kind = "";
        await Promise.all([loadOrders(), loadWallet()]);
      } catch (err) {
        yes.disabled = false;
        say(yes.closest(".order-actions").querySelector(".cancel-msg"), "没有取消成功：" + explain(err) + HELP);
      }
    }
  });
  $("#order-list").addEventListener("submit", async e => {
    const form = e.target.closest("form[data-review]");
    if (!form) return;
    e.preventDefault();
    const msg = form.querySelector(".review-msg");
    if (!form.dataset.rating) { say(msg, "请先点一个分数（1 到 5 分），再点“提交评价”。"); return; }
    const btn = form.querySelector("button[type=submit]");
    btn.disabled = true;
    try {
      const id = form.dataset.review;
      const answer = await Youfu.api("POST", `${O}/orders/${id}/review`,
        { rating: Number(form.dataset.rating), comment: form.querySelector("textarea").value.trim() });
      details.set(id, answer);
      const slot = form.closest(".order-actions");
      slot.dataset.kind = "reviewed";
      slot.innerHTML = reviewDone(answer.review || { rating: Number(form.dataset.rating), comment: "" });
      loadOrders();
    } catch (err) {
      btn.disabled = false;
      say(msg, "评价没有提交成功：" + explain(err) + (err.status === 409 ? "" : "请再点一次“提交评价”。"));
    }
  });

  // ---- changes to the elder's record from other bureaus' lists (assistance, death, move), explained ----
  async function loadStatusChanges() {
    if (!elder) return;
    const asked = elder.id, box = $("#status-notice");
    let changes = [];
    try {
      const r = await Youfu.api("GET", `${A}/elders/${encodeURIComponent(asked)}/status-changes`);
      changes = Array.isArray(r) ? r : (r && r.items) || [];
    } catch { changes = []; } // a notice, not a task: without it the page works as before
    if (asked !== elder.id) return;
    changes = changes.filter(c => c.explanation);
    box.hidden = !changes.length;
    $("#status-changes").innerHTML = changes.map(c => {
      const day = c.effective_date || c.applied_at || "";
      return `<li>${day ? `<span class="when">${esc(String(day).slice(0, 10))}</span> ` : ""}${esc(c.explanation)}</li>`;
    }).join("");
  }

  // ---- the care plan: the one awaiting consent (accept it here), the active one, and this month's
  // visits planned against done (orders service) ----
  const serviceName = code => (items.find(i => i.code === code) || {}).name || code;
  const providerNames = new Map();
  async function nameProviders(plans) {
    const ids = new Set(plans.flatMap(p => (p.items || []).filter(i => i.provider_id && !i.provider_name).map(i => i.provider_id)));
    await Promise.all([...ids].filter(id => !providerNames.has(id)).map(async id => {
      try { providerNames.set(id, (await Youfu.api("GET", `${P}/providers/${encodeURIComponent(id)}`)).name); } catch { /* the item still shows */ }
    }));
  }
  const itemLine = i => esc(Youfu.planItemText(i, serviceName, id => providerNames.get(id) || ""));
  const dayText = ds => ds ? dayName(String(ds).slice(0, 10)) : "";
  const CONSENT_BY = { elder: "老人本人", family: "家属", officer: "社区工作人员" };
  const CONSENT_HOW = { app: "在手机上确认", in_person: "当面确认", phone: "电话确认" };
  function offerHtml(p) {
    const b = p.budget || {};
    return `<article class="card plan-card" data-plan="${esc(p.plan_id)}" aria-labelledby="plan-offer-title">`
      + `<h3 id="plan-offer-title">新的护理计划，请您确认</h3>`
      + `<p>从 ${esc(dayText(p.start_date))} 开始${p.review_date ? `，${esc(dayText(p.review_date))}前复评` : ""}。每次上门的安排：</p>`
      + `<ul class="plan-items">${(p.items || []).map(i => `<li>${itemLine(i)}</li>`).join("")}</ul>`
      + `<p class="quote" id="plan-budget">${esc(Youfu.budgetText(b))}</p>`
      + (b.over_budget ? `<p>这个计划超出了本月代金券的额度，超出的部分要自己付：每月自付约 ${yuan(b.self_fen)} 元。</p>`
        + `<label class="check"><input type="checkbox" id="plan-self-pay"> 我同意每月自付约 ${yuan(b.self_fen)} 元</label>` : "")
      + `<p class="actions"><button type="button" class="primary" id="plan-accept">同意这个护理计划</button></p>`
      + `<div id="plan-accept-msg" hidden></div></article>`;
  }
  function activeHtml(p) {
    const c = p.consent;
    return `<article class="card plan-card" data-plan="${esc(p.plan_id)}" aria-labelledby="plan-active-title">`
      + `<h3 id="plan-active-title">正在执行的护理计划 <span class="state-badge s-active">${esc(Youfu.PLAN_STATES[p.state] || p.state)}</span></h3>`
      + `<p class="big" id="plan-delivery" role="status">本月的上门次数正在统计……</p>`
      + `<ul class="plan-items">${(p.items || []).map(i => `<li>${itemLine(i)}</li>`).join("")}</ul>`
      + `<p>从 ${esc(dayText(p.start_date))} 开始${p.review_date ? `，${esc(dayText(p.review_date))}前复评` : ""}。`
      + (p.budget ? `${esc(Youfu.budgetText(p.budget))}。` : "") + "</p>"
      + (c ? `<p class="muted">${esc(CONSENT_BY[c.by_role] || "")}已于 ${esc(Youfu.localDate(c.at))}${esc(CONSENT_HOW[c.method] || "确认")}。</p>` : "")
      + (p.state === "to_review" ? `<p>老人的评估结果有了变化，社区会重新商量护理计划；新计划确认前，现在的计划照常执行。</p>` : "")
      + `<div id="plan-items-done"></div></article>`;
  }
  async function loadDelivery(plan) {
    const box = $("#plan-delivery");
    if (!box || !elder) return;
    const asked = elder.id;
    try {
      const d = await Youfu.api("GET", `${O}/plan-delivery?elder_id=${encodeURIComponent(asked)}&month=${Youfu.month()}`);
      if (asked !== elder.id || !$("#plan-delivery")) return;
      box.textContent = d.summary_zh || `本月计划 ${d.planned} 次，已完成 ${d.completed} 次`;
      const byItem = (d.items || []).filter(i => i.planned);
      $("#plan-items-done").innerHTML = byItem.length > 1 ? `<ul>${byItem.map(i => `<li>${esc(i.service_name || serviceName(i.service_code))}：`
        + `计划 ${i.planned} 次，已完成 ${i.completed} 次</li>`).join("")}</ul>` : "";
    } catch { box.textContent = "本月的上门次数暂时统计不出来，稍后会再试。"; }
  }
  let shownPlans = "";
  async function loadPlan() {
    if (!elder) return;
    const asked = elder.id;
    let plans;
    try { plans = Youfu.rows(await Youfu.api("GET", `${A}/elders/${encodeURIComponent(asked)}/care-plans`)); }
    catch (err) {
      if (asked !== elder.id) return;
      $("#plan").hidden = err.status === 404;
      if (err.status !== 404) say("#plan-msg", "护理计划暂时读不出来：" + explain(err));
      return;
    }
    if (asked !== elder.id) return;
    quiet("#plan-msg");
    const waiting = plans.find(p => p.state === "awaiting_consent");
    const live = plans.find(p => p.state === "active" || p.state === "to_review");
    $("#plan").hidden = !waiting && !live;
    await nameProviders([waiting, live].filter(Boolean));
    if (asked !== elder.id) return;
    const key = JSON.stringify([waiting && [waiting.plan_id, waiting.version], live && [live.plan_id, live.state]]);
    if (key !== shownPlans) { // redrawn only when the plans change: a ticked box stays ticked
      shownPlans = key;
      $("#plan-offer").innerHTML = waiting ? offerHtml(waiting) : "";
      $("#plan-active").innerHTML = live ? activeHtml(live) : "";
    }
    if (live) await loadDelivery(live);
  }
  $("#plan-offer").addEventListener("click", async e => {
    const btn = e.target.closest("#plan-accept");
    if (!btn) return;
    const card = btn.closest("[data-plan]"), box = $("#plan-self-pay");
    if (box && !box.checked) {
      say("#plan-accept-msg", "这个计划每月要自己付一部分钱。同意的话请先勾选“我同意每月自付”，再点“同意这个护理计划”。");
      box.focus();
      return;
    }
    btn.disabled = true;
    try {
      await Youfu.api("POST", `${A}/care-plans/${encodeURIComponent(card.dataset.plan)}/consent`,
        { method: "app", accepts_self_pay: !!(box && box.checked) });
      shownPlans = "";
      await loadPlan();
      say("#plan-msg", "您已同意护理计划。服务商会按计划上门，订单会提前一天出现在“我的订单”里。", "ok");
    } catch (err) {
      btn.disabled = false;
      say("#plan-accept-msg", "没有确认成功：" + explain(err) + HELP);
    }
  });

  // ---- vouchers ----
  async function loadWallet() {
    if (!elder) return;
    const asked = elder.id;
    try {
      let found;
      try { found = await Youfu.api("GET", `${V}/wallets/${encodeURIComponent(asked)}`); }
      catch (err) { // not known to vouchers yet (no assessment): simply no vouchers
        if (err.status !== 404) throw err;
        found = { elder_id: asked, month: Youfu.month(), vouchers: [], total_available_fen: 0 };
      }
      if (asked !== elder.id) return; // another elder was chosen meanwhile: their wallet is on its way
      wallet = found;
      const [y, m] = wallet.month.split("-").map(Number);
      $("#wallet-title").textContent = `${y}年${m}月的代金券`;
      $("#wallet-body").innerHTML = wallet.vouchers.length ? `<div class="grid">` + wallet.vouchers.map(v => {
        const [, mm, dd] = v.valid_until.split("-").map(Number);
        return `<article class="card voucher-card"><h3>${esc(v.kind_name)}</h3>`
          + `<p class="big">还可以用 <strong>${yuan(v.available_fen)}</strong> 元</p>`
          + `<p>本月发放 ${yuan(v.face_value_fen)} 元，已用 ${yuan(v.spent_fen)} 元`
          + (v.held_fen ? `，下单预留 ${yuan(v.held_fen)} 元` : "") + (v.expired_fen ? `，过期 ${yuan(v.expired_fen)} 元` : "") + "。</p>"
          + `<p>每次服务代金券付 ${v.share_bp / 100}%，其余自己付。用到 ${mm}月${dd}日，月底没用完的作废。</p></article>`;
      }).join("") + "</div>"
        : `<p>这个月还没有代金券。代金券在能力评估认定后每月 1 日发放；有疑问请拨打服务热线 88012349。</p>`;
      quiet("#wallet-msg");
      const hist = wallet.vouchers.length ? await Youfu.api("GET", `${V}/wallets/${encodeURIComponent(asked)}/history?month=${wallet.month}`)
        : { entries: [] };
      if (asked !== elder.id) return;
      $("#history").innerHTML = hist.entries.length ? `<ul class="history">` + hist.entries.map(h => {
        const change = h.available_change_fen;
        return `<li><span class="when">${esc(h.time.slice(5, 10).replace("-", "月") + "日 " + h.time.slice(11, 16))}</span>`
          + `<span class="what">${esc(h.kind_name)}：${esc(h.description)}</span>`
          + `<span class="change ${change > 0 ? "plus" : change < 0 ? "minus" : ""}">${change ? (change > 0 ? "+" : "−") + yuan(Math.abs(change)) + " 元" : ""}</span></li>`;
      }).join("") + "</ul>" : `<p class="muted">这个月还没有收支。</p>`;
      mealPay();
    } catch (err) {
      if (asked !== elder.id) return;
      wallet = null;
      $("#wallet-body").innerHTML = ""; $("#history").innerHTML = "";
      say("#wallet-msg", "代金券余额暂时读不出来：" + explain(err) + "请稍后刷新页面。");
    }
  }

  // ---- recurring meals ----
  const meal = () => items.find(i => i.code === "meal");
  function mealForm() {
    if (!meal()) { $("#meals").hidden = true; return; }
    if (!$("#meal-days").children.length) {
      $("#meal-days").innerHTML = WEEK.map((w, k) => `<label class="choice"><input type="checkbox" name="weekday" value="${k + 1}"${k < 5 ? " checked" : ""}> <span>${w}</span></label>`).join("");
      $("#meal-start").value = dateIn(1);
      $("#meal-start").min = dateIn(1);
    }
    mealPay();
  }
  function mealPay() {
    if (!meal() || !wallet) return;
    const before = checked($("#meal-form"), "meal-pay");
    payChoices($("#meal-pay"), meal(), "meal-pay");
    const keep = before && $("#meal-form").querySelector(`input[name="meal-pay"][value="${before}"]`);
    if (keep) keep.checked = true;
    mealQuote();
  }
  async function mealQuote() {
    const pay = checked($("#meal-form"), "meal-pay"), price = meal().guide_price_fen, box = $("#meal-quote");
    if (pay === "self_pay") { box.textContent = `每餐 ${yuan(price)} 元，不用代金券，自付 ${yuan(price)} 元。`; return; }
    try {
      const q = await Youfu.api("POST", `${V}/quotes`, { elder_id: elder.id, kind: pay, price_fen: price });
      box.textContent = `每餐 ${yuan(price)} 元：代金券支付 ${yuan(q.voucher_fen)} 元，自付 ${yuan(q.elder_fen)} 元（按本月余额计算）。`;
    } catch (err) { box.textContent = `每餐 ${yuan(price)} 元。暂时算不出代金券能付多少：${explain(err)}`; }
  }
  $("#meal-form").addEventListener("change", e => { if (e.target.name === "meal-pay") mealQuote(); });
  $("#meal-form").addEventListener("submit", async e => {
    e.preventDefault();
    const form = $("#meal-form"), btn = $("#meal-submit");
    if (btn.disabled) return;
    const weekdays = [...form.querySelectorAll('input[name="weekday"]:checked')].map(x => Number(x.value));
    if (!weekdays.length) { say("#meal-msg", "请至少选一天（例如周一到周五）。"); return; }
    if (!$("#meal-start").value) { say("#meal-msg", "请选从哪天开始送。"); return; }
    const weeks = $("#meal-weeks").value;
    const body = { elder_id: elder.id, service_code: "meal", weekdays, time: $("#meal-time").value,
      start_date: $("#meal-start").value, duration_min: 60, payment: checked(form, "meal-pay") || "self_pay" };
    if (weeks) body.weeks = Number(weeks);
    btn.disabled = true; quiet("#meal-msg");
    try {
      await Youfu.api("POST", `${O}/recurring-orders`, body);
      say("#meal-msg", `已订好：${weekText(weekdays)} ${body.time} 送餐，从 ${dayName(body.start_date)} 开始。每次会提前一天自动下单，订单会出现在“我的订单”里。`, "ok");
      await loadRules();
    } catch (err) { say("#meal-msg", "没有订成功：" + explain(err) + "请检查后再点一次。"); }
    finally { btn.disabled = false; }
  });
  const weekText = days => days.length === 7 ? "每天" : "每周" + days.map(d => WEEK[d - 1].slice(1)).join("、");
  const RULE_STATUS = { active: "正在送", paused: "已暂停", ended: "已停止" };
  async function loadRules() {
    try {
      const asked = elder.id;
      const rules = (await Youfu.api("GET", `${O}/recurring-orders?elder_id=${encodeURIComponent(asked)}`))
        .filter(r => r.service_code === "meal" && r.status !== "ended");
      if (asked !== elder.id) return;
      $("#meal-rules").innerHTML = rules.length ? `<h3>已订的送餐</h3>` + rules.map(r => `<article class="card rule-card" data-rule="${r.rule_id}">`
        + `<p class="label-like">${esc(weekText(r.weekdays))} ${esc(r.time.slice(0, 5))} 送餐　<span class="state-badge s-${r.status}">${RULE_STATUS[r.status] || r.status}</span></p>`
        + `<p>从 ${esc(dayName(r.start_date))} 开始，${r.end_date ? `到 ${esc(dayName(r.end_date))} 结束` : "一直送，直到您停止"}；`
        + `${r.payment === "self_pay" ? "自己付钱" : "用" + (VOUCHERS[r.payment] || r.payment)}。</p><p class="actions">`
        + (r.status === "active" ? `<button type="button" data-rule-act="pause">暂停送餐</button>` : `<button type="button" data-rule-act="resume">恢复送餐</button>`)
        + `<button type="button" data-rule-act="end">不再送了</button></p><div class="rule-msg" hidden></div></article>`).join("") : "";
    } catch (err) { $("#meal-rules").innerHTML = ""; say("#meal-msg", "已订的送餐暂时读不出来：" + explain(err)); }
  }
  $("#meal-rules").addEventListener("click", async e => {
    const b = e.target.closest("button[data-rule-act]");
    if (!b) return;
    const card = b.closest("[data-rule]"), act = b.dataset.ruleAct;
    if (act === "end" && !b.dataset.sure) {
      b.dataset.sure = "1"; b.textContent = "确定不再送了";
      say(card.querySelector(".rule-msg"), "再点一次“确定不再送了”就停止。已经下好的订单会保留，可以在“我的订单”里逐个取消。");
      return;
    }
    b.disabled = true;
    try {
      const path = `${O}/recurring-orders/${card.dataset.rule}`;
      await (act === "end" ? Youfu.api("DELETE", path) : Youfu.api("POST", `${path}/${act}`));
      await loadRules();
    } catch (err) { b.disabled = false; say(card.querySelector(".rule-msg"), "没有改成：" + explain(err)); }
  });

  // ---- start, and keep following ----
  async function loadAll() {
    shownPlans = "";
    await Promise.all([loadOrders(), loadWallet(), loadRules(), loadStatusChanges(), loadPlan()]);
  }
  (async () => {
    if (!(await loadElders())) return;
    await Promise.all([loadCatalogue(), loadWallet(), loadStatusChanges()]);
    await Promise.all([loadOrders(), loadRules(), loadPlan()]);
    document.body.setAttribute("data-loaded", "true");
    setInterval(() => { if (!document.hidden) loadOrders(); }, REFRESH_MS);
    // live notices (notices.js): the order list and the plan follow at once
    if (window.youfuNotices) youfuNotices.on("*", n => n.kind.startsWith("careplan.") ? loadPlan() : n.kind.startsWith("order.") && loadOrders());
    document.addEventListener("visibilitychange", () => { if (!document.hidden) loadOrders(); });
  })();
})();
