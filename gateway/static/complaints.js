// Complaints (投诉) on the elder page (a small form with an optional photo, and the elder's own
// complaints with the bureau's answers) and on the provider page (the complaints about this provider, without the
// complainant when they asked to stay anonymous). The bureau works the tickets in oversight.js.
(() => {
  const V = "/api/vouchers", O = "/api/orders";
  const $ = s => document.querySelector(s);
  const esc = s => Youfu.esc(s);
  const me = Youfu.me();
  if (!me || !Youfu.token()) return;
  const STATUS = { open: "待处理", in_progress: "处理中", resolved: "已解决", rejected: "不予受理" };
  const SUBJECT = { order: "这次服务", provider: "服务机构", caregiver: "护理员" };

  function card(c, { showWho }) {
    const answer = c.answer ? `<p class="complaint-answer"><strong>民政部门答复（${esc(Youfu.localTime(c.answered_at))}）：</strong>${esc(c.answer)}</p>`
      : `<p class="muted">办理期限：${esc(Youfu.localTime(c.deadline))}${c.overdue ? "（已逾期）" : ""}</p>`;
    const who = showWho ? "" : (c.anonymous ? "（投诉人要求匿名）" : "");
    return `<li class="complaint" data-complaint="${esc(c.complaint_id)}">
      <p><strong>${esc(c.subject_name || SUBJECT[c.subject] || "")}</strong> · ${esc(STATUS[c.status] || c.status_name)}
        · <span class="muted">${esc(Youfu.localTime(c.filed_at))} 提交${esc(who)}</span></p>
      <p>${esc(c.text)}</p>${c.photo ? `<p><button type="button" data-photo="${esc(c.complaint_id)}">查看所附照片</button></p>
      <figure class="complaint-photo" hidden><img alt="投诉所附照片"></figure>` : ""}${answer}</li>`;
  }
  // A photo is served only with the token: fetched into an object URL when asked for.
  document.addEventListener("click", async e => {
    const b = e.target.closest("li.complaint button[data-photo]");
    if (!b) return;
    const fig = b.closest("li").querySelector("figure.complaint-photo"), img = fig.querySelector("img");
    if (!fig.hidden) { fig.hidden = true; b.textContent = "查看所附照片"; return; }
    b.disabled = true;
    try {
      if (!img.src) img.src = await Youfu.imageUrl(`${V}/complaints/${b.dataset.photo}/photo`);
      fig.hidden = false; b.textContent = "收起照片";
    } catch (err) { b.textContent = "照片暂时打不开：" + Youfu.explain(err); }
    finally { b.disabled = false; }
  });

  // ---- the elder page ----
  const elderBox = $("#complaints");
  if (elderBox && ["elder", "family"].includes(me.role)) {
    const elderId = () => sessionStorage.getItem("yf.elder") || (me.elder_ids || [])[0];
    // the orders offered in the form: an order not completed yet is unknown to vouchers' records,
    // so its provider and caregiver travel with the complaint (vouchers prefers what it knows)
    let orders = new Map();
    async function loadOrders() {
      const sel = $("#complaint-order");
      try {
        const list = Youfu.rows(await Youfu.api("GET", `${O}/orders?elder_id=${encodeURIComponent(elderId())}&limit=20`));
        const done = list.filter(o => ["completed", "settled", "accepted", "in_service", "disputed"].includes(o.state));
        orders = new Map(done.map(o => [o.order_id, o]));
        sel.innerHTML = `<option value="">请选择订单</option>` + done.map(o =>
          `<option value="${esc(o.order_id)}">${esc(o.service_name || o.service_code)} · ${esc(Youfu.localDate(o.window_start))} · ${esc(o.state_label || "")}</option>`).join("");
      } catch { sel.innerHTML = `<option value="">订单暂时读不出来</option>`; }
    }
    async function loadMine() {
      try {
        const list = await Youfu.api("GET", `${V}/complaints`);
        $("#complaint-list").innerHTML = list.length ? list.map(c => card(c, { showWho: true })).join("")
          : `<li class="muted">还没有投诉记录。</li>`;
      } catch (err) { Youfu.show("#complaint-msg", "投诉记录暂时读不出来：" + Youfu.explain(err)); }
    }
    let key = Youfu.uuid();
    $("#complaint-form").addEventListener("submit", async e => {
      e.preventDefault();
      const b = $("#complaint-submit");
      const body = { subject: $("#complaint-subject").value, order_id: $("#complaint-order").value || null,
        text: $("#complaint-text").value.trim(), anonymous: $("#complaint-anonymous").checked, elder_id: elderId() };
      const picked = orders.get(body.order_id);
      if (picked && picked.provider_id) body.provider_id = picked.provider_id;
      if (picked && picked.caregiver_id && body.subject === "caregiver") body.caregiver_id = picked.caregiver_id;
      if (!body.order_id) { Youfu.show("#complaint-msg", "请选择要投诉的订单。"); $("#complaint-order").focus(); return; }
      const file = $("#complaint-photo").files[0];
      if (file && file.size > 2 * 1024 * 1024) { Youfu.show("#complaint-msg", "照片太大（上限 2 MB），请换一张或压缩后再传。"); $("#complaint-photo").focus(); return; }
      if (file && !["image/jpeg", "image/png"].includes(file.type)) { Youfu.show("#complaint-msg", "照片只能是 JPEG 或 PNG 格式。"); $("#complaint-photo").focus(); return; }
      b.disabled = true;
      try {
        const c = await Youfu.api("POST", `${V}/complaints`, body, { idempotencyKey: key });
        key = Youfu.uuid();
        let note = "";
        if (file) {  // the photo follows the filed complaint (the complainant's own ticket)
          const form = new FormData();
          form.append("photo", file);
          try { await Youfu.api("POST", `${V}/complaints/${c.complaint_id}/photo`, form, { idempotencyKey: Youfu.uuid() }); note = "照片已附上。"; }
          catch (err) { note = `但照片没有上传成功（${Youfu.explain(err)}），投诉内容已收到。`; }
        }
        $("#complaint-form").reset();
        Youfu.show("#complaint-msg", `投诉已提交，民政部门将在 ${Youfu.localTime(c.deadline)} 前答复。${note}`, "ok");
        $("#complaint-msg").setAttribute("role", "status");
        await loadMine();
      } catch (err) { Youfu.show("#complaint-msg", "没有提交成功：" + Youfu.explain(err)); }
      finally { b.disabled = false; }
    });
    loadOrders();
    loadMine().then(() => document.body.setAttribute("data-complaints-loaded", "true"));
  }

  // ---- the provider page ----
  const providerBox = $("#provider-complaints");
  if (providerBox && me.role === "provider_admin") {
    providerBox.hidden = false;
    Youfu.api("GET", `${V}/complaints`).then(list => {
      $("#provider-complaint-list").innerHTML = list.length ? list.map(c => card(c, { showWho: false })).join("")
        : `<li class="muted">没有关于本机构的投诉。</li>`;
    }).catch(err => Youfu.show("#provider-complaints-msg", "投诉暂时读不出来：" + Youfu.explain(err)));
  }
})();
