// Supervision at the door (issue 24), added beside the page scripts without rewriting them.
// Elder page (elder, family): the confirmation code of each order being served, and for a family
// member the one-tap remote confirmation. Provider page (caregiver, provider admin): 出发 on an
// accepted job; on a job in service the code (or the reason it cannot be confirmed) at check-out,
// "老人不在家", and optional photos at check-in and check-out. Bureau page (officers): elders with
// repeated no-shows in the district.
(() => {
  const O = "/api/orders";
  const esc = s => Youfu.esc(s);
  const me = Youfu.me();
  if (!me || !Youfu.token()) return;
  const path = location.pathname;
  const hhmm = iso => iso ? Youfu.localTime(iso).slice(-8, -3) : "";
  const note = (box, text, kind = "error") => { // Youfu.show replaces the class: keep the box's own
    if (box.dataset.keep === undefined) box.dataset.keep = box.className;
    Youfu.show(box, text, kind);
    if (box.dataset.keep) box.classList.add(...box.dataset.keep.split(" ").filter(Boolean));
    if (kind === "ok") box.setAttribute("role", "status");
  };
  const explain = err => err.status === 0 ? "网络连接中断了，请检查网络后再试。" : Youfu.explain(err).replace(/[。.]?$/, "。");

  // ---- the elder's page: the code to tell the caregiver; the family's one tap ----
  if (path.startsWith("/elder") && (me.role === "elder" || me.role === "family")) {
    const panel = document.createElement("section");
    panel.id = "door-panel"; panel.className = "card door-panel"; panel.hidden = true;
    panel.setAttribute("aria-labelledby", "door-title");
    panel.innerHTML = `<h2 id="door-title">上门服务确认</h2><div id="door-msg" hidden></div><div id="door-list"></div>`;
    const anchor = document.querySelector("#page-msg");
    if (anchor) anchor.after(panel); else document.querySelector("main").prepend(panel);
    let shown = "";
    async function loadCodes() {
      try {
        const list = await Youfu.api("GET", `${O}/orders?limit=100`);
        const serving = list.filter(o => o.state === "accepted" || o.state === "in_service");
        const codes = await Promise.all(serving.map(o => Youfu.api("GET", `${O}/orders/${o.order_id}/door-code`)
          .then(c => ({ o, c })).catch(() => null)));
        const rows = codes.filter(Boolean).map(({ o, c }) => {
          const who = esc(c.caregiver_name || "护理员");
          const tap = me.role === "family" && o.state === "in_service" && !c.family_confirmed
            ? `<p><button type="button" class="primary" data-door-confirm="${esc(o.order_id)}">确认${who}正在为老人服务</button></p>` : "";
          const done = c.family_confirmed ? `<p class="door-confirmed">家属已远程确认，护理员签退时不用再输入确认码。</p>` : "";
          return `<article class="door-order" data-order="${esc(o.order_id)}"><h3>${esc(o.service_name)}　${esc(hhmm(o.window_start))}`
            + `　${o.state === "in_service" ? `${who}已到达` : `${who}将上门`}</h3>`
            + `<p>上门确认码：<strong class="door-code">${esc(c.code)}</strong></p>`
            + `<p class="muted">服务结束时，请把这 ${c.code.length} 位数字告诉护理员，由护理员输入后签退。`
            + (c.code_locked ? "确认码输错次数过多已锁定，请家属在手机上远程确认。" : "") + `</p>${done}${tap}</article>`;
        });
        const html = rows.join("");
        if (html !== shown) { shown = html; document.querySelector("#door-list").innerHTML = html; }
        panel.hidden = rows.length === 0;
      } catch { /* the orders list shows its own errors */ }
    }
    panel.addEventListener("click", async e => {
      const b = e.target.closest("button[data-door-confirm]");
      if (!b) return;
      b.disabled = true;
      try {
        await Youfu.api("POST", `${O}/orders/${b.dataset.doorConfirm}/family-confirm`);
        note(document.querySelector("#door-msg"), "已确认，谢谢。护理员签退时不用再输入确认码。", "ok");
        await loadCodes();
      } catch (err) { b.disabled = false; note(document.querySelector("#door-msg"), "没有确认成功：" + explain(err)); }
    });
    loadCodes();
    setInterval(() => { if (!document.hidden) loadCodes(); }, 5000);
  }

  // ---- the provider page: 出发, confirmation at check-out, not at home, photos ----
  if (path.startsWith("/provider") && (me.role === "caregiver" || me.role === "provider_admin")) {
    const list = document.querySelector("#schedule-list");
    if (!list) return;
    const refresh = () => { const who = document.querySelector("#schedule-who"); if (who) who.dispatchEvent(new Event("change")); };
    const enRoute = new Map(); // order id → when the caregiver set off (asked once per order)
    function goBlock(el) {
      const id = el.dataset.order, at = enRoute.get(id);
      return at ? `已于 ${esc(hhmm(at))} 出发。` : `<button type="button" data-door="go">出发</button> <span class="muted">出发时点一下，老人和家属会收到通知。</span>`;
    }
    function decorate(el) {
      const id = el.dataset.order, body = el.querySelector(".job-body");
      if (!body) return;
      if (el.dataset.body === "in" && !body.querySelector(".door-go")) {
        const p = document.createElement("p");
        p.className = "door-go"; p.innerHTML = goBlock(el);
        body.prepend(p);
        if (!enRoute.has(id)) {
          Youfu.api("GET", `${O}/orders/${id}`).then(o => {
            if (o.door && o.door.en_route_at) { enRoute.set(id, o.door.en_route_at); p.innerHTML = goBlock(el); }
          }).catch(() => {});
        }
      }
      const form = body.querySelector("form.checkout");
      if (form && !form.querySelector(".door-fields")) {
        const box = document.createElement("fieldset");
        box.className = "door-fields";
        box.innerHTML = `<legend>老人确认</legend>
          <label for="door-code-${id}">老人手机上的上门确认码（家属已远程确认时可不填）</label>
          <input id="door-code-${id}" name="door_code" inputmode="numeric" autocomplete="off" maxlength="8" placeholder="例如 4821">
          <label for="door-why-${id}">无法确认的原因（没有确认码、家属也没有远程确认时必填）</label>
          <input id="door-why-${id}" name="door_why" maxlength="500" placeholder="例如：老人没有手机，家属联系不上">`;
        form.querySelector("button[type=submit]").closest("p").before(box);
        const extra = document.createElement("div");
        extra.className = "door-extra";
        extra.innerHTML = `<div class="inline">
            <div><label for="door-pin-${id}">签到照片（可不拍）</label><input id="door-pin-${id}" type="file" accept="image/jpeg,image/png" capture="environment" data-stage="checkin"></div>
            <div><label for="door-pout-${id}">签退照片（可不拍）</label><input id="door-pout-${id}" type="file" accept="image/jpeg,image/png" capture="environment" data-stage="checkout"></div>
          </div><p class="muted">照片只能是 JPEG 或 PNG，不超过 2 MB；上传时自动去掉位置等信息。</p>
          <p><button type="button" data-door="away">老人不在家</button> <span class="muted">签到后等满规定时间仍联系不上老人时使用，订单结束，不扣代金券。</span></p>`;
        form.after(extra);
      }
    }
    const decorateAll = () => list.querySelectorAll(".job").forEach(decorate);
    new MutationObserver(decorateAll).observe(list, { childList: true, subtree: true });
    decorateAll();

    list.addEventListener("click", async e => {
      const b = e.target.closest("button[data-door]");
      if (!b) return;
      const el = b.closest(".job"), id = el.dataset.order, msg = el.querySelector(".job-note");
      b.disabled = true;
      try {
        if (b.dataset.door === "go") {
          const o = await Youfu.api("POST", `${O}/orders/${id}/en-route`);
          enRoute.set(id, (o.door && o.door.en_route_at) || new Date().toISOString());
          b.closest(".door-go").innerHTML = goBlock(el);
          note(msg, "已出发，老人和家属会收到通知。", "ok");
        } else {
          if (!confirm("确认老人不在家？订单将结束，不扣代金券。")) { b.disabled = false; return; }
          await Youfu.api("POST", `${O}/orders/${id}/no-show`, undefined, { idempotencyKey: Youfu.uuid() });
          note(document.querySelector("#schedule-msg"), `已登记老人不在家（订单号 ${id.slice(0, 8)}），不扣代金券，家属会收到通知。`, "ok");
          refresh();
        }
      } catch (err) { b.disabled = false; note(msg, (b.dataset.door === "go" ? "没有登记出发：" : "没有登记成功：") + explain(err)); }
    });
    list.addEventListener("change", async e => {
      const input = e.target.closest("input[type=file][data-stage]");
      if (!input || !input.files.length) return;
      const el = input.closest(".job"), msg = el.querySelector(".job-note"), file = input.files[0];
      if (file.size > 2 * 1024 * 1024) { note(msg, "照片太大（上限 2 MB），请换一张或压缩后再传。"); input.value = ""; return; }
      const form = new FormData();
      form.append("stage", input.dataset.stage); form.append("photo", file);
      try {
        await Youfu.api("POST", `${O}/orders/${el.dataset.order}/photos`, form, { idempotencyKey: Youfu.uuid() });
        note(msg, `${input.dataset.stage === "checkin" ? "签到" : "签退"}照片已上传。`, "ok");
      } catch (err) { note(msg, "照片没有上传成功：" + explain(err)); input.value = ""; }
    });
    // Check-out with the confirmation: handled here (capture phase) instead of provider.js's plain one.
    document.addEventListener("submit", async e => {
      const form = e.target;
      if (!form.matches || !form.matches("#schedule-list form.checkout")) return;
      e.preventDefault(); e.stopPropagation();
      const el = form.closest(".job"), msg = el.querySelector(".job-note"), btn = form.querySelector("button[type=submit]");
      const record = form.record.value.trim(), minutes = form.minutes.value.trim();
      const code = (form.door_code ? form.door_code.value : "").replace(/\s/g, ""), why = form.door_why ? form.door_why.value.trim() : "";
      if (!record) { note(msg, "请先填写服务记录，写清做了哪些服务，例如：送午餐一份，协助用餐。"); return; }
      if (minutes && !(Number.isInteger(Number(minutes)) && Number(minutes) >= 1 && Number(minutes) <= 1440)) {
        note(msg, "服务时长请填 1 到 1440 之间的整数（分钟），或者不填。"); return;
      }
      if (code && !/^\d+$/.test(code)) { note(msg, "确认码只有数字，请核对老人手机上的确认码。"); return; }
      btn.disabled = true;
      try {
        const order = await Youfu.api("POST", `${O}/orders/${el.dataset.order}/check-out`,
          { record, duration_min: minutes ? Number(minutes) : null, confirmation_code: code || null, unconfirmed_reason: why || null });
        const how = order.door && order.door.confirmation_label ? `（${order.door.confirmation_label}）` : "";
        note(document.querySelector("#schedule-msg"), `已签退，服务完成${how}：${order.service_name}（订单号 ${order.order_id.slice(0, 8)}）。`
          + (order.state === "settled" ? "老人自费，已结清。" : "代金券结算会自动进行。"), "ok");
        refresh();
      } catch (err) {
        btn.disabled = false;
        note(msg, "没有签退成功：" + explain(err) + "请再试一次。");
        if (err.problem && err.problem.reason === "code_locked" && form.door_why) form.door_why.focus();
      }
    }, true);
  }

  // ---- the bureau page: elders with repeated no-shows ----
  if (path.startsWith("/bureau") && (me.role === "officer" || me.role === "city_officer" || me.role === "admin")) {
    const box = document.createElement("section");
    box.id = "no-shows"; box.className = "panel"; box.setAttribute("aria-labelledby", "no-shows-title");
    box.innerHTML = `<h3 id="no-shows-title">多次上门不在家的老人</h3><div id="no-shows-body"></div>`;
    document.querySelector("main").appendChild(box);
    Youfu.api("GET", `${O}/no-show-elders`).then(r => {
      const rows = r.elders.map(x => `<li>${esc(x.name || x.elder_id.slice(0, 8))}（${esc(x.district_name || "")}${esc(x.street || "")}）：`
        + `近 ${r.window_days} 天 ${x.no_shows} 次，最近一次 ${esc(Youfu.localTime(x.last_no_show_at))}</li>`);
      document.querySelector("#no-shows-body").innerHTML = rows.length
        ? `<p>近 ${r.window_days} 天内上门时 ${r.threshold} 次及以上不在家的老人，请核实老人近况：</p><ul>${rows.join("")}</ul>`
        : `<p class="muted">近 ${r.window_days} 天没有多次上门不在家的老人。</p>`;
    }).catch(err => { document.querySelector("#no-shows-body").textContent = "暂时读不出来：" + explain(err); });
  }
})();
